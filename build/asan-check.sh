#!/bin/sh
# The Apache::Test suite against a module built with AddressSanitizer, in a
# copy of the committed tree (build-asan/; commit first). Any ASan report
# fails the run. Usage: sh build/asan-check.sh [t/200_tunnel.t ...]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
work="$top/build-asan"
rm -rf "$work"
mkdir -p "$work"
# A copy of the committed tree (Apache::Test writes into t/).
(cd "$top" && git archive --format=tar HEAD) | (cd "$work" && tar -xf -)
cd "$work"
autoreconf -fi >/dev/null 2>&1
./configure --enable-asan >/dev/null
make -j2 >/dev/null
make t/TEST t/backend/wsgw-test-backend >/dev/null
chmod -R o+rX "$work"
logdir="$work/t/logs/asan"
mkdir -p "$logdir"
chmod 1777 "$logdir"
WSGW_ASAN_LOG="$logdir/report" WSGW_REAL_HTTPD="$(apxs -q SBINDIR)/$(apxs -q TARGET)" \
    perl t/TEST -httpd "$top/build/asan-httpd.sh" "$@" || rc=$?
if ls "$logdir"/report* >/dev/null 2>&1; then
    echo "AddressSanitizer reports:"
    cat "$logdir"/report*
    exit 1
fi
echo "AddressSanitizer: no reports (suite exit status ${rc:-0})"
exit ${rc:-0}
