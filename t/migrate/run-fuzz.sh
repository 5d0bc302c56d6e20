#!/bin/sh
# Build the ws-gateway-migrate fuzz target with libFuzzer (clang
# -fsanitize=fuzzer,address,undefined) and run it.
#
#   t/migrate/run-fuzz.sh [SECONDS]      (default 60)
#
# The corpus starts from the golden case inputs; findings land in
# $WSGM_FUZZ_DIR (default: a fresh directory under /tmp, printed). Exit
# status is libFuzzer's: 0 when nothing was found. Needs clang
# (Debian: apt-get install clang) and APR's development files.

set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-60}
cc=${CLANG:-clang}
out=${WSGM_FUZZ_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/wsgm-fuzz.XXXXXX")}

command -v "$cc" > /dev/null 2>&1 || {
    echo "run-fuzz.sh: $cc not found (apt-get install clang)" >&2
    exit 77
}
apr_cflags="$(apr-1-config --cppflags --includes) $(apu-1-config --includes)"
apr_libs="$(apr-1-config --link-ld --libs) $(apu-1-config --link-ld)"

mkdir -p "$out/corpus" "$out/artifacts"
for f in "$here"/cases/*/in.conf "$here"/cases/*/conf.d/*.conf \
         "$here"/live/*.conf; do
    [ -f "$f" ] && cp "$f" "$out/corpus/$(echo "$f" | tr / _)"
done

# the tool's sources but its command line, plus the core's path joining
srcs=
for f in "$top"/src/migrate/wsgm_*.c; do
    [ "$(basename "$f")" = wsgm_main.c ] || srcs="$srcs $f"
done
# shellcheck disable=SC2086
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined $apr_cflags \
    -I"$top/include" -I"$top/src/migrate" \
    "$here/fuzz_conf.c" $srcs "$top"/src/wsgw_map.c \
    -o "$out/fuzz_conf" $apr_libs

echo "run-fuzz.sh: fuzzing for $secs s in $out"
ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_conf" -max_total_time="$secs" \
    -max_len=8192 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" "$out/corpus"
