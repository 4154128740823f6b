//! Builds the C epoll echo server (the B1 floor) with the system `cc`.
//! Without a C compiler the benchmarks still build; B1 then skips the floor.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "c/echo_epoll.c";
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("echo_epoll");
    let ok = Command::new("cc")
        .args(["-O2", "-Wall", "-o"])
        .arg(&out)
        .arg(src)
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        println!("cargo:rustc-env=KIWI_BENCH_ECHO_EPOLL={}", out.display());
    } else {
        println!("cargo:warning=cc failed: B1 will run without the C epoll floor");
        println!("cargo:rustc-env=KIWI_BENCH_ECHO_EPOLL=");
    }
}
