"""The code blocks of README.md, docs/ and the READMEs of packages/* and
examples/* as a reader meets them.

Every fenced block there is run by the suite of its language, as written:
```python here, ```rust by tests/docs (cargo test), ```js and ```ts by
packages/npm/test/docs.test.mjs (on this machine's Node, tsc for ts), ```c
by tests/c/check_install.sh (`cc app.c $(pkg-config ...)` against a prefix
of scripts/install-c). A block that is not meant to run (a synopsis, a
picture, a format) says why on the line before it: ``<!-- not run: why -->``;
a command block run by a suite in its own way names it:
``<!-- run by SUITE: how -->``. The first test holds that rule, so a new
block cannot go unrun silently.

The Python blocks call ``charge(...)``, which the reader writes: here it
records its arguments. ``url`` is the reader's URL too. The literal
``redis://127.0.0.1:6379`` is replaced by the suite's Redis server, and each
block runs in a fresh current directory (``sqlite://locks.db`` lands there).
"""

from __future__ import annotations

import ast
import asyncio
import os
import pathlib
import re
from typing import Any, Iterator, NamedTuple

import pytest

from conftest import ROOT

RUN_BY_LANGUAGE = {"python", "rust", "js", "ts", "c"}


class Block(NamedTuple):
    file: str
    line: int  # the opening fence's line, 1-based
    language: str
    code: str
    marker: str  # the `<!-- ... -->` line before the fence, or ""


def doc_files() -> list[pathlib.Path]:
    """README.md, docs/**/*.md and the READMEs of packages/* and examples/*."""
    return [
        ROOT / "README.md",
        *sorted(ROOT.glob("packages/*/README.md")),
        *sorted(ROOT.glob("examples/*/README.md")),
        *sorted((ROOT / "docs").rglob("*.md")),
    ]


def blocks() -> Iterator[Block]:
    for path in doc_files():
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
            before = lines[i - 1].strip() if i > 0 else ""
            marker = before if before.startswith("<!--") else ""
            yield Block(str(path.relative_to(ROOT)), i + 1, m.group(1).strip(), "\n".join(lines[i + 1 : end]), marker)
            i = end + 1


def test_every_block_is_run_or_says_why_not() -> None:
    found = list(blocks())
    assert len(found) >= 10, found
    unaccounted = []
    for b in found:
        if b.marker:
            assert re.match(r"<!-- (not run|run by [\w/.-]+): \S.* -->$", b.marker), f"{b.file}:{b.line}: {b.marker!r}"
        elif b.language not in RUN_BY_LANGUAGE:
            unaccounted.append(f"{b.file}:{b.line} ```{b.language}")
    assert not unaccounted, (
        "blocks no suite runs and that do not say why (a `<!-- not run: why -->` line before them):\n"
        + "\n".join(unaccounted)
    )


PYTHON_BLOCKS = [b for b in blocks() if b.language == "python" and not b.marker]


def test_the_docs_have_python_blocks() -> None:
    assert {b.file for b in PYTHON_BLOCKS} >= {"README.md", "docs/python.md", "packages/python/README.md"}


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"{b.file}:{b.line}" for b in PYTHON_BLOCKS])
def test_python_block_runs(block: Block, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    redis = os.environ.get("FERROLOCK_TEST_REDIS_URL")
    if not redis:
        pytest.fail("FERROLOCK_TEST_REDIS_URL is not set: run scripts/suites/python, which starts Redis")
    code = block.code.replace("redis://127.0.0.1:6379", redis)
    charged: list[dict[str, Any]] = []
    namespace: dict[str, Any] = {
        "__name__": "__doc_block__",
        "charge": lambda **kw: charged.append(kw),
        "url": f"sqlite://{tmp_path / 'aio.db'}",
    }
    monkeypatch.chdir(tmp_path)
    compiled = compile(code, f"{block.file}:{block.line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)  # a coroutine when the block awaits at top level
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    if "charge(" in code:
        assert charged and all(kw["fence"] >= 1 for kw in charged), charged
