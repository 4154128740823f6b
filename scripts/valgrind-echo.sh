#!/usr/bin/env bash
# valgrind memcheck on the echo stress (issue 7, item 11): no invalid reads or
# writes, no definite leaks. Builds examples/stress_echo.rs (debug) and runs it
# at small scale under memcheck; exits non-zero on any error.
#
#   scripts/valgrind-echo.sh [CONNECTIONS] [MAX_BYTES]   (defaults: 20 32768)
#
# kiwi falls back from epoll_pwait2 to epoll_wait by itself (valgrind answers
# ENOSYS). Run by .ci/run at the default scale (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
cargo build --example stress_echo
exec valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite --track-origins=yes --quiet \
  "$CARGO_TARGET_DIR/debug/examples/stress_echo" "${1:-20}" "${2:-32768}"
