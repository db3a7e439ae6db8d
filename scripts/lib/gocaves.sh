#!/usr/bin/env bash
# gocaves: Couchbase's mock cluster (the real KV protocol), the server the
# Couchbase tests and benchmarks run against. Built once from the Go module
# proxy and cached; prints the path of the binary. The recipe (and why each
# step is there) is in docs/backends/couchbase.md.
#
#   scripts/lib/gocaves.sh            build unless cached; print the binary's path
#
# Cache: $FERROLOCK_GOCAVES_DIR, else ${XDG_CACHE_HOME:-~/.cache}/ferrolock/gocaves-<version>.
set -euo pipefail
version=v0.0.1-75
cache=${FERROLOCK_GOCAVES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ferrolock/gocaves-$version}
bin="$cache/gocaves"
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    [ -x /usr/local/go/bin/go ] && PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
    echo "installing golang-go from Debian's packages" >&2
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
    fi
fi
echo "building gocaves $version from the Go module proxy into $cache (once)" >&2
mkdir -p "$(dirname "$cache")"
work=$(mktemp -d "$(dirname "$cache")/gocaves-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOPATH="$work/gopath" GOCACHE="$work/gocache" GOFLAGS=-modcacherw
dir=$(go mod download -json "github.com/couchbaselabs/gocaves@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
# Its go.mod replaces gocaves/client with a local folder the module zip
# lacks; the build only needs that module's go.mod, which the proxy serves.
go mod edit -dropreplace=github.com/couchbaselabs/gocaves/client
# Generates checksuite/checksuite.go and mock/data/gobindata.go.
go run -mod=mod ./tools/prebuildstep.go >/dev/null
go build -mod=mod -o "$work/gocaves" .
mkdir -p "$cache"
mv "$work/gocaves" "$bin"
echo "$bin"
