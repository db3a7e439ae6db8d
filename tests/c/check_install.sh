#!/usr/bin/env bash
# The install story, as a C developer meets it: build examples/c against a
# prefix that scripts/install-c filled, with pkg-config or with CMake
# (shared or static), and run it; and the C examples of the docs, built with
# the README's pkg-config line.
#   check_install.sh PREFIX pkg-config|cmake|cmake-static|docs WORKDIR
set -euo pipefail
prefix=$1 how=$2 work=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
case "$how" in
pkg-config)
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    cc "$root/examples/c/nightly_report.c" $(pkg-config --cflags --libs ferrolock) -o "$work/nightly_report"
    # No LD_LIBRARY_PATH: the pkg-config flags carry the rpath.
    env -u LD_LIBRARY_PATH "$work/nightly_report" memory:// | grep -q "under fence 1"
    ;;
docs)
    # Each ```c block of README.md, docs/ and the READMEs of packages/* and
    # examples/* is an app.c, built with the
    # README's own `cc app.c $(pkg-config ...)` line, then run (exit 0) in a
    # folder of its own with no LD_LIBRARY_PATH. Blocks marked
    # `<!-- not run: why -->` on the line before are left out.
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    line=$(grep -m1 '^cc app.c \$(pkg-config --cflags --libs ferrolock)' "$root/README.md" | sed 's/[[:space:]]*#.*//')
    [ -n "$line" ] || { echo "README.md has no 'cc app.c \$(pkg-config ...)' line" >&2; exit 1; }
    n=0
    while IFS= read -r -d '' block; do
        n=$((n + 1))
        dir="$work/block-$n"
        mkdir -p "$dir"
        printf '%s\n' "${block#*$'\n'}" > "$dir/app.c"
        echo "${block%%$'\n'*}: $line" >&2
        (cd "$dir" && sh -c "$line" && env -u LD_LIBRARY_PATH ./a.out) >&2
    done < <(python3 - "$root" <<'PY'
import pathlib, re, sys
root = pathlib.Path(sys.argv[1])
for path in [root / "README.md", *sorted(root.glob("packages/*/README.md")),
             *sorted(root.glob("examples/*/README.md")), *sorted((root / "docs").rglob("*.md"))]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"\s*```(.*)$", lines[i])
        if not m:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].lstrip().startswith("```"):
            end += 1
        marked = i > 0 and lines[i - 1].strip().startswith("<!--")
        if m.group(1).strip() == "c" and not marked:
            name = f"{path.relative_to(root)}:{i + 1}"
            sys.stdout.write(name + "\n" + "\n".join(lines[i + 1 : end]) + "\0")
        i = end + 1
PY
)
    [ "$n" -ge 2 ] || { echo "found $n C blocks in README.md and docs/ (docs/c.md has two)" >&2; exit 1; }
    echo "built and ran $n C blocks of the docs" >&2
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
