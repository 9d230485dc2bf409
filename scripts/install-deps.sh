#!/bin/sh
# Installs the Debian packages hearth needs to build, test or benchmark; idempotent.
# Usage: scripts/install-deps.sh [build|test|bench|all]   (default: build)
set -eu

# nodejs and npm: the build installs the first-name gazetteers of the PII detector from the
# npm registry (data/names), as the tests install the client SDKs (tests/sdk); git reads
# llama.cpp's headers from the source bundle that `make llama` fetches with npm
build="gcc make pkg-config libevent-dev libcurl4-openssl-dev libjansson-dev
libsqlite3-dev libyaml-dev libsodium-dev nodejs npm git"
test="$build libcmocka-dev python3 python3-pytest python3-yaml clang libclang-rt-14-dev valgrind"
bench="$build nginx-light wrk procps"

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
bench) want=$bench ;;
all) want="$test $bench" ;;
*) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

# What the installed packages provide counts as installed, as it does for apt (e.g. a
# nodejs package from another repository that bundles npm provides npm).
provided=" $(dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null |
	sed -n 's/^install ok installed|//p' | tr ',' '\n' | sed 's/(.*//' | tr -s ' \n' '  ') "

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	case "$provided" in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "hearth: these Debian packages are missing:$missing" >&2
	echo "hint: run as root:  apt-get install -y$missing" >&2
	exit 1
fi
echo "hearth: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing ||
	{ apt-get update && apt-get install -y --no-install-recommends $missing; }
