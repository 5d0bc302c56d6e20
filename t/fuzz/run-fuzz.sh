#!/bin/sh
# Build the frame parser's libFuzzer target with ASan and UBSan and run it
# for a bounded time.
#
#   t/fuzz/run-fuzz.sh [SECONDS] [CORPUS_DIR]
#
# SECONDS defaults to 30. Without CORPUS_DIR a temporary corpus is used and
# removed afterwards. The build goes to a temporary directory, never to the
# source tree; crash inputs are kept there and their path is printed.
# Exit status: 0 when the time ran out without a finding, 2 when clang is
# missing, otherwise libFuzzer's (non-zero) status.
set -eu

secs=${1:-30}
case $secs in
    ''|*[!0-9]*) echo "run-fuzz.sh: SECONDS must be a number, not '$secs'" >&2
                 exit 2 ;;
esac

top=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v clang >/dev/null 2>&1; then
    echo "run-fuzz.sh: clang is needed (libFuzzer comes with it)." >&2
    echo "Install it with: apt-get install clang" >&2
    exit 2
fi
for tool in apr-1-config apu-1-config; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run-fuzz.sh: $tool not found;" \
             "install libapr1-dev and libaprutil1-dev" >&2
        exit 2
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/wsgw-fuzz.XXXXXX")
keep=0
cleanup() {
    if [ "$keep" = 0 ]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# The word splitting of the *-config outputs is wanted.
# shellcheck disable=SC2046
clang -g -O1 -std=c99 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -I"$top/include" \
    $(apr-1-config --cppflags --includes) $(apu-1-config --includes) \
    "$top/src/wsgw_frame.c" "$top/t/fuzz/fuzz_frame.c" \
    $(apr-1-config --link-ld) $(apu-1-config --link-ld) \
    -o "$work/fuzz_frame"

if [ $# -ge 2 ]; then
    corpus=$2
    mkdir -p "$corpus"
else
    corpus=$work/corpus
    mkdir -p "$corpus"
fi

# A few seeds so that the first minutes are not spent finding a header.
# Layout: option byte, 3 chunk-seed bytes, then the stream.
seed() {
    # shellcheck disable=SC2059 # the formats are the octal literals below
    printf "$2" > "$corpus/seed-$1"
}
seed text   '\000\001\002\003\201\005Hello'
seed masked '\011\004\005\006\201\2057\372!=\177\237MQX'
seed frag   '\030\007\010\011\001\003Hel\211\001a\200\002lo'
seed close  '\002\001\001\001\210\005\003\350bye\212\000'
seed len16  '\041\002\002\002\202\176\000\200'
seed len64  '\043\003\003\003\202\177\000\000\000\000\000\001\000\000'
seed deflate '\001\005\005\005\301\001x\210\002\003\351'

echo "run-fuzz.sh: fuzzing the frame parser for $secs s (work dir $work)"
status=0
"$work/fuzz_frame" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/" "$corpus" || status=$?

if [ "$status" -ne 0 ]; then
    keep=1
    echo "run-fuzz.sh: FAILED (status $status);" \
         "crash input and binary kept in $work" >&2
    ls -l "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* \
        2>/dev/null >&2 || true
    exit "$status"
fi
echo "run-fuzz.sh: no finding in $secs s"
