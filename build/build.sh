#!/bin/sh
# Configure and build in the source tree (idempotent). Extra arguments go to
# ./configure.
set -e
cd "$(dirname "$0")/.."
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ] || [ -n "$*" ]; then
    ./configure "$@"
fi
make -j"$(nproc 2>/dev/null || echo 2)"
