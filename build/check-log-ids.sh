#!/bin/sh
# Fails when a WSGW_LOGNO id is used twice, is missing from docs/log-ids.md,
# or when a registered id is no longer used anywhere.
top=${1:-.}
cd "$top" || exit 2
used=$(grep -rhoE 'WSGW_LOGNO\([0-9]{5}\)' mod_ws_gateway.c src | sed -E 's/.*\(([0-9]{5})\)/\1/' | sort)
dups=$(printf '%s\n' "$used" | uniq -d)
registered=$(grep -oE '^\| *WSGW[0-9]{5}' docs/log-ids.md | grep -oE '[0-9]{5}' | sort)
rc=0
if [ -n "$dups" ]; then
    echo "log ids used at more than one call site: $dups (each call site needs its own id)"
    rc=1
fi
for id in $(printf '%s\n' "$used" | uniq); do
    printf '%s\n' "$registered" | grep -qx "$id" || {
        echo "WSGW$id is used but not registered in docs/log-ids.md: add a row with its meaning and remedy"
        rc=1
    }
done
for id in $registered; do
    printf '%s\n' "$used" | grep -qx "$id" || {
        echo "WSGW$id is registered in docs/log-ids.md but used nowhere: mark it retired or remove the row"
        rc=1
    }
done
n=$(printf '%s\n' "$used" | grep -c .)
if [ $rc -eq 0 ]; then
    echo "log ids: $n call sites, all unique and registered"
fi
exit $rc
