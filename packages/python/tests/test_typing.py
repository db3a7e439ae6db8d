"""The hand-written stubs of the native module match the built module
(mypy's stubtest), the package type-checks against them, and every public
name has a docstring."""

from __future__ import annotations

import inspect
import os
import pathlib
import subprocess
import sys

import ferrolock
import ferrolock.aio

PACKAGE = pathlib.Path(ferrolock.__file__).parent


def test_py_typed_and_stubs_are_installed():
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_native.pyi").exists()


def test_native_stub_matches_the_module(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "ferrolock._native", "--concise"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "MYPY_CACHE_DIR": str(tmp_path / ".mypy_cache")},
    )
    assert p.returncode == 0, p.stdout + p.stderr


def test_package_type_checks(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), "-p", "ferrolock"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr


def _public(module):
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if isinstance(obj, (str, float, int, tuple)) or name == "Duration":
            continue
        yield f"{module.__name__}.{name}", obj
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                yield f"{module.__name__}.{name}.{attr}", member


def test_every_public_name_has_a_docstring():
    missing = []
    for qual, obj in list(_public(ferrolock)) + list(_public(ferrolock.aio)):
        doc = obj.__doc__ if not isinstance(obj, property) else obj.fget.__doc__
        if callable(obj) or isinstance(obj, property) or inspect.isclass(obj):
            if not (doc and doc.strip()):
                missing.append(qual)
    assert not missing, missing
