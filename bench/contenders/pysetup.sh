# Sourced by the Python contenders' setup: one venv under target/bench with
# both libraries at fixed versions.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ ! -x "$bench_venv/bin/python" ]; then
    python3 -m venv "$bench_venv"
fi
"$bench_venv/bin/python" -m pip install -q --disable-pip-version-check \
    "redis==8.1.0" "python-redis-lock==4.0.1"
