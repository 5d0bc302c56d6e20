#!/bin/sh
# Golden-file tests for ws-gateway-migrate, as TAP.
#
# Each directory t/migrate/cases/NAME holds:
#   in.conf     the input (copied with the rest of the directory into a
#               scratch directory, where the tool runs as "in.conf")
#   out.conf    the expected standard output; with --in-place in args, the
#               expected content of in.conf afterwards
#   stderr      the expected messages
#   exit        the expected exit status
#   args        (optional) options, e.g. "--diff", "--check", "--in-place=.bak"
#   stdin       (optional, empty) feed in.conf on standard input instead
#   idem-exit   (optional) exit status of the second run (default 0); only
#               cases that leave something unconvertible need it
#
# Every case is two tests: the golden comparison, and idempotence: the
# converted configuration fed to the tool again comes out unchanged, with
# no "converted" message.
#
# Environment: WSGM_TOOL (the binary; default ./ws-gateway-migrate, as make
# check runs from the build directory), WSGM_CASES (the cases directory).
# Regenerate expectations after a deliberate change with WSGM_REGEN=1 (then
# review the diff of t/migrate/cases before committing).

here=$(cd "$(dirname "$0")" && pwd)
cases=${WSGM_CASES:-$here/cases}
tool=${WSGM_TOOL:-}
if [ -z "$tool" ]; then
    for c in ./ws-gateway-migrate "$here/../../ws-gateway-migrate"; do
        if [ -x "$c" ]; then
            tool=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
            break
        fi
    done
fi
if [ -z "$tool" ] || [ ! -x "$tool" ]; then
    echo "1..0 # SKIP ws-gateway-migrate is not built (set WSGM_TOOL)"
    exit 77
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/wsgm-golden.XXXXXX") || exit 99
trap 'rm -rf "$scratch"' EXIT INT TERM

n=0
failed=0

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}

not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    if [ -n "$2" ] && [ -f "$2" ]; then
        sed 's/^/#   /' "$2"
    fi
}

# run the tool in directory $1 with the case's way of reading input;
# stdout to $1/.out, stderr to $1/.err, status echoed
run_case() {
    (
        cd "$1" || exit 99
        if [ -f "$1/stdin" ]; then
            # shellcheck disable=SC2086
            "$tool" $2 < in.conf > .out 2> .err
        else
            # shellcheck disable=SC2086
            "$tool" $2 in.conf > .out 2> .err
        fi
        echo $?
    )
}

for dir in "$cases"/*/; do
    [ -f "$dir/in.conf" ] || continue
    name=$(basename "$dir")
    work="$scratch/$name"
    rm -rf "$work"
    mkdir -p "$work"
    cp -R "$dir"/. "$work"/
    rm -f "$work/out.conf" "$work/stderr" "$work/exit"
    args=$(cat "$dir/args" 2>/dev/null)
    want_exit=$(cat "$dir/exit" 2>/dev/null || echo 0)

    got_exit=$(run_case "$work" "$args")
    result="$work/.out"
    case " $args " in
    *" --in-place"*)
        suffix=$(echo " $args " | sed -n 's/.*--in-place=\([^ ]*\).*/\1/p')
        [ -n "$suffix" ] || suffix=.orig
        result="$work/in.conf"
        ;;
    esac

    if [ -n "$WSGM_REGEN" ]; then
        cp "$result" "$dir/out.conf"
        cp "$work/.err" "$dir/stderr"
        echo "$got_exit" > "$dir/exit"
        want_exit=$got_exit
    fi

    report="$work/.report"
    : > "$report"
    if [ "$got_exit" != "$want_exit" ]; then
        echo "exit status $got_exit, expected $want_exit" >> "$report"
    fi
    if ! cmp -s "$result" "$dir/out.conf"; then
        echo "output differs:" >> "$report"
        diff -u "$dir/out.conf" "$result" >> "$report" 2>&1
    fi
    if ! cmp -s "$work/.err" "$dir/stderr"; then
        echo "messages differ:" >> "$report"
        diff -u "$dir/stderr" "$work/.err" >> "$report" 2>&1
    fi
    case " $args " in
    *" --in-place"*)
        if [ -s "$work/.out" ]; then
            echo "--in-place wrote to standard output" >> "$report"
        fi
        if ! cmp -s "$result" "$dir/in.conf"; then
            if ! cmp -s "$work/in.conf$suffix" "$dir/in.conf"; then
                echo "backup in.conf$suffix missing or not the original" \
                    >> "$report"
            fi
        fi
        ;;
    esac
    if [ -s "$report" ]; then
        not_ok "$name" "$report"
    else
        ok "$name"
    fi

    # idempotence: convert (default mode), then convert the result again
    if [ "$want_exit" = 2 ]; then
        ok "$name: idempotent # SKIP unusable input"
        continue
    fi
    idem="$scratch/$name.idem"
    rm -rf "$idem"
    mkdir -p "$idem/1" "$idem/2"
    cp -R "$dir"/. "$idem/1"/
    cp -R "$dir"/. "$idem/2"/
    run_case "$idem/1" "" > /dev/null
    cp "$idem/1/.out" "$idem/2/in.conf"
    rm -f "$idem/2/stdin"
    idem_got=$(run_case "$idem/2" "")
    idem_want=$(cat "$dir/idem-exit" 2>/dev/null || echo 0)
    : > "$report"
    if ! cmp -s "$idem/2/.out" "$idem/2/in.conf"; then
        echo "second run changed the output:" >> "$report"
        diff -u "$idem/2/in.conf" "$idem/2/.out" >> "$report" 2>&1
    fi
    if grep -q ': converted ' "$idem/2/.err"; then
        echo "second run converted something:" >> "$report"
        cat "$idem/2/.err" >> "$report"
    fi
    if [ "$idem_got" != "$idem_want" ]; then
        echo "second run exit status $idem_got, expected $idem_want" \
            >> "$report"
        cat "$idem/2/.err" >> "$report"
    fi
    if [ -s "$report" ]; then
        not_ok "$name: idempotent" "$report"
    else
        ok "$name: idempotent"
    fi
done

echo "1..$n"
if [ "$n" -eq 0 ]; then
    echo "# no cases found in $cases"
    exit 99
fi
[ "$failed" -eq 0 ]
