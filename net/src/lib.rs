//! kiwi-net: placeholder until the net issue lands.
#![forbid(unsafe_code)]
