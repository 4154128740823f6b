//! The contract's auto traits and Debug impls, checked at compile time.

#![allow(dead_code)]

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn debug<T: std::fmt::Debug>() {}
fn unpin<T: Unpin>() {}
fn id_like<T: Copy + Eq + std::hash::Hash + Ord + std::fmt::Display + Send + Sync>() {}

#[test]
fn runtime_types() {
    send::<kiwi::Runtime>();
    sync::<kiwi::Runtime>();
    send::<kiwi::Handle>();
    sync::<kiwi::Handle>();
    send::<kiwi::JoinHandle<u8>>();
    sync::<kiwi::JoinHandle<u8>>();
    unpin::<kiwi::JoinHandle<std::rc::Rc<u8>>>();
    send::<kiwi::AbortHandle>();
    sync::<kiwi::AbortHandle>();
    send::<kiwi::JoinError>();
    sync::<kiwi::JoinError>();
    send::<kiwi::JoinSet<u8>>();
    debug::<kiwi::Runtime>();
    debug::<kiwi::Handle>();
    debug::<kiwi::Builder>();
    debug::<kiwi::JoinHandle<std::rc::Rc<u8>>>();
    debug::<kiwi::AbortHandle>();
    debug::<kiwi::JoinError>();
    debug::<kiwi::JoinSet<u8>>();
    debug::<kiwi::YieldNow>();
    debug::<kiwi::RuntimeMetrics>();
    debug::<kiwi::signal::CtrlC>();
    debug::<kiwi::io::AsyncFd<std::os::unix::net::UnixStream>>();
    id_like::<kiwi::task::Id>();
    debug::<kiwi::task::Id>();
}

#[test]
fn time_types() {
    send::<kiwi::time::Sleep>();
    unpin::<kiwi::time::Sleep>();
    send::<kiwi::time::Interval>();
    unpin::<kiwi::time::Interval>();
    send::<kiwi::time::Timeout<kiwi::time::Sleep>>();
    unpin::<kiwi::time::Timeout<kiwi::time::Sleep>>();
    debug::<kiwi::time::Sleep>();
    debug::<kiwi::time::Interval>();
    debug::<kiwi::time::Elapsed>();
    debug::<kiwi::time::Timeout<kiwi::time::Sleep>>();
}
