//! Placeholder: the benchmarks land with their own issue.
fn main() {}
