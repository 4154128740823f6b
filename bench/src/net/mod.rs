//! Network benchmarks (B1 echo, B2 fixed-rate echo, B3 HTTP with wrk, B7 idle
//! connections, B8 two workers, B9 hyper and axum): the servers (one shape per application for
//! every runtime, plus the C epoll echo floor), the load generators, and the
//! drivers.
//!
//! Each server runs in its own process (`kiwi-bench server ...`, or the C
//! binary), pinned to CPU 0 except in B8; the load generator (this process,
//! or wrk) runs on CPU 1 and is the same for every server. The server's CPU
//! time comes from `/proc/PID/stat` and its syscalls from `perf stat`, both
//! over the measured window only.

pub mod axum;
pub mod b1;
pub mod b10;
pub mod b2;
pub mod b3;
pub mod b7;
pub mod b8;
pub mod b9;
pub mod http;
pub mod load;
pub mod proc;
pub mod proxy;
pub mod servers;
