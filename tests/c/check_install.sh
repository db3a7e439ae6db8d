#!/usr/bin/env bash
# The install story, as a C developer meets it: build examples/c against a
# prefix that scripts/install-c filled, with pkg-config or with CMake
# (shared or static), and run it.
#   check_install.sh PREFIX pkg-config|cmake|cmake-static WORKDIR
set -euo pipefail
prefix=$1 how=$2 work=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
case "$how" in
pkg-config)
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    cc "$root/examples/c/nightly_report.c" $(pkg-config --cflags --libs ferrolock) -o "$work/nightly_report"
    LD_LIBRARY_PATH="$prefix/lib" "$work/nightly_report" memory:// | grep -q "under fence 1"
    ;;
cmake)
    cmake -S "$root/examples/c" -B "$work" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$work" >/dev/null
    "$work/nightly_report" memory:// | grep -q "under fence 1"  # found through its RUNPATH
    ;;
cmake-static)
    mkdir -p "$work/src"
    cp "$root/examples/c/nightly_report.c" "$work/src/"
    sed 's/ferrolock::ferrolock)/ferrolock::ferrolock_static)/' "$root/examples/c/CMakeLists.txt" > "$work/src/CMakeLists.txt"
    cmake -S "$work/src" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$work/build" >/dev/null
    ! readelf -d "$work/build/nightly_report" | grep -q libferrolock  # linked in
    "$work/build/nightly_report" memory:// | grep -q "under fence 1"
    ;;
*) echo "unknown mode $how" >&2; exit 2 ;;
esac
echo "install via $how: ok"
