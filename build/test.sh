#!/bin/sh
# The whole test suite, from a clean clone: install dependencies, build,
# then `make check` (unit tests, log ID registry, migrate golden files and
# the Apache::Test suite against a real httpd).
set -e
cd "$(dirname "$0")/.."
sh build/deps.sh
sh build/build.sh --enable-werror
# Apache::Test runs httpd as 'nobody' when started as root: every directory
# down to t/ must be traversable by that user.
if [ "$(id -u)" -eq 0 ]; then
    d=$(pwd)
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
    chmod -R o+rX t 2>/dev/null || true
fi
# The frame parser's fuzz target, for a bounded time (libFuzzer + ASan).
sh t/fuzz/run-fuzz.sh "${WSGW_FUZZ_SECONDS:-30}"
exec make check
