"""The package as users get it: a wheel built from the source tree installs
into a fresh virtualenv (no Rust needed there) and works; it is abi3 and
does not link libpython."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import venv

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_the_built_wheel_installs_into_a_fresh_venv(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
         "-w", str(wheels), str(ROOT / "packages" / "python")],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "MATURIN_PEP517_ARGS": "--profile dev"},
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("ferrolock-*.whl")
    assert "-abi3-" in wheel.name and "cp39" in wheel.name

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    inst = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-index", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert inst.returncode == 0, inst.stderr
    script = (
        "import ferrolock, pathlib\n"
        "with ferrolock.connect('memory://wheel') as locks:\n"
        "    with locks.lock('x') as held: assert held.fence == 1\n"
        "p = pathlib.Path(ferrolock.__file__).parent\n"
        "assert (p / 'py.typed').exists() and (p / '_native.pyi').exists()\n"
        "print(next(p.glob('_native*.so')))\n"
    )
    run = subprocess.run([str(py), "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    ldd = subprocess.run(["ldd", run.stdout.strip()], capture_output=True, text=True)
    assert ldd.returncode == 0 and "libpython" not in ldd.stdout
