#!/bin/sh
# Fetches llama.cpp for the embedded engine (providers of kind llamacpp) from the npm
# registry into DIR (default third_party/llama): the prebuilt Linux x64 libraries of
# @node-llama-cpp/linux-x64 into DIR/lib, and the headers of the matching llama.cpp source
# (the git bundle inside node-llama-cpp) into DIR/include. Idempotent (DIR/.hearth-installed).
# Never fails the build: without the network or npm it says so and exits 0, and hearth then
# reports the engine as unavailable (and its tests skip).
set -u
VERSION=3.21.1
dir=${1:-third_party/llama}
stamp=$dir/.hearth-installed
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$VERSION" ] && [ -f "$dir/ggml-version" ] && exit 0

say() { echo "hearth: make llama: $*" >&2; }
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
	say "the prebuilt llama.cpp is for Linux x86_64 only; set HEARTH_LLAMA_LIB to a libllama.so of your own (docs/local-models.md)"
	exit 0
fi
command -v npm >/dev/null 2>&1 || { say "npm is missing; the embedded engine stays unavailable"; exit 0; }
tmp=$(mktemp -d) || exit 0
trap 'rm -rf "$tmp"' EXIT
say "fetching node-llama-cpp@$VERSION and @node-llama-cpp/linux-x64@$VERSION from npm"
# offline: fail fast (one retry), and use npm's cache when it has the packages
if ! (cd "$tmp" && npm pack --silent --prefer-offline --fetch-retries=1 \
	--fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=5000 "node-llama-cpp@$VERSION" "@node-llama-cpp/linux-x64@$VERSION" >/dev/null); then
	say "npm could not fetch the packages (offline?); the embedded engine stays unavailable"
	exit 0
fi
mkdir -p "$tmp/x" && (cd "$tmp/x" &&
	tar xzf "../node-llama-cpp-linux-x64-$VERSION.tgz" --wildcards 'package/bins/linux-x64/lib*.so' &&
	tar xzf "../node-llama-cpp-$VERSION.tgz" package/llama/gitRelease.bundle package/LICENSE) || {
	say "the packages do not hold what was expected (bins/linux-x64/lib*.so, llama/gitRelease.bundle)"
	exit 0
}
git clone -q --no-checkout "$tmp/x/package/llama/gitRelease.bundle" "$tmp/src" 2>/dev/null &&
	(cd "$tmp/src" && git checkout -q HEAD -- include ggml/include ggml/CMakeLists.txt LICENSE) || {
	say "could not read the llama.cpp source bundle"
	exit 0
}
rm -rf "$dir" && mkdir -p "$dir/lib" "$dir/include" || exit 0
# libllama-common is node-llama-cpp's own helper library; hearth needs only llama and ggml
cp "$tmp"/x/package/bins/linux-x64/libllama.v*.so "$tmp"/x/package/bins/linux-x64/libggml*.so "$dir/lib/" &&
	cp "$tmp"/src/include/llama.h "$tmp"/src/ggml/include/*.h "$dir/include/" &&
	cp "$tmp"/src/LICENSE "$dir/LICENSE" || { say "could not copy the files"; exit 0; }
# the ggml version of these headers: hearth refuses a library of another one (ggml_version())
sed -n 's/^set(GGML_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))$/\2/p' "$tmp/src/ggml/CMakeLists.txt" |
	paste -sd. - >"$dir/ggml-version"
echo "$VERSION" >"$stamp"
say "llama.cpp (node-llama-cpp $VERSION) is in $dir"
