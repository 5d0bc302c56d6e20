#!/bin/sh
# Install what building and testing mod_ws_gateway needs on Debian 12
# (bookworm), unless it is all there already. Used by build/demo.sh,
# build/test.sh and .ci/run.
set -e
pkgs="apache2 apache2-dev libapache2-mod-perl2 autoconf automake libtool
      make gcc pkg-config libssl-dev openssl perl python3 python3-websockets
      python3-h2 curl clang"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    echo "need root (or sudo) to install:$missing" >&2
    exit 1
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
