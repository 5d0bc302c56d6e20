#!/bin/sh
# Install what building and testing mod_ws_gateway needs on Debian 12
# (bookworm), unless it is all there already. Used by build/demo.sh,
# build/test.sh and .ci/run.
#
# chromium (headless, for the demo's browser test t/520_demo_browser.t) is
# installed wherever Debian offers it; where it cannot be installed at all
# that test is skipped. build/demo.sh passes --without-browser: the demo
# needs only your own browser.
set -e
pkgs="apache2 apache2-dev libapache2-mod-perl2 autoconf automake libtool
      make gcc pkg-config libssl-dev openssl perl python3 python3-websockets
      python3-h2 curl clang"
optional="chromium"
[ "$1" = "--without-browser" ] && optional=""

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}
installable() {
    apt-cache policy "$1" 2>/dev/null | grep -Eq 'Candidate: [^(]'
}

# Installed, but older than the archive offers.
stale() {
    inst=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null) || return 1
    cand=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ -n "$cand" ] && [ "$cand" != "(none)" ] \
        && dpkg --compare-versions "$inst" lt "$cand"
}
# A newer apache2 is built against a newer OpenSSL: with the machine's
# older libssl3, mod_ssl warns at every start (AH01882) and the suites
# that allow no warnings fail. Keep libssl3 current with it.
current="libssl3"

missing=""
for p in $current; do
    stale "$p" && missing="$missing $p"
done
for p in $pkgs; do
    installed "$p" || missing="$missing $p"
done
opt=""
for p in $optional; do
    installed "$p" || opt="$opt $p"
done
for p in $opt; do
    installable "$p" && missing="$missing $p"
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
# Package lists may have been empty (or old) before the update.
for p in $current; do
    case " $missing " in
        *" $p "*) ;;
        *) stale "$p" && missing="$missing $p" ;;
    esac
done
for p in $opt; do
    case " $missing " in
        *" $p "*) ;;
        *) if installable "$p"; then missing="$missing $p"
           else echo "note: $p cannot be installed here; the tests that need it are skipped"; fi ;;
    esac
done
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
