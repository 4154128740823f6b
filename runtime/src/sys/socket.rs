//! Sockets: filled in with kiwi-net.
