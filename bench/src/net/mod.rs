//! Network benchmarks: the echo servers (one per runtime, same shape, plus the
//! C epoll floor), the closed-loop load generator, and the B1 driver.
//!
//! Each server runs in its own process pinned to CPU 0 (`kiwi-bench server
//! <kind> <port>`, or the C binary); the load generator runs in the parent,
//! pinned to CPU 1, and is the same for every server. The server's CPU time
//! comes from `/proc/PID/stat` over the measured window only.

pub mod b1;
pub mod load;
pub mod servers;
