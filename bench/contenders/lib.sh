# Sourced by the contenders' scripts: paths shared by all of them.
contenders_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$contenders_dir/../.." && pwd)
bench_bin="${CARGO_TARGET_DIR:-$root/target}/release/ferrolock-bench-redis"
# Python contenders share one venv.
bench_venv="$root/target/bench/venv"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
