#!/bin/sh
# Run the stock httpd with AddressSanitizer preloaded, for a module built
# with ./configure --enable-asan. Reports go to $WSGW_ASAN_LOG.<pid>.
# Used as: perl t/TEST -httpd build/asan-httpd.sh (see build/asan-check.sh).
LD_PRELOAD=$(gcc -print-file-name=libasan.so)
ASAN_OPTIONS="detect_leaks=0:halt_on_error=0:log_path=${WSGW_ASAN_LOG:-/tmp/wsgw-asan}"
export LD_PRELOAD ASAN_OPTIONS
exec "${WSGW_REAL_HTTPD:-/usr/sbin/apache2}" "$@"
