"""Every Python code block of the README and the documentation runs on its own, as a reader would paste it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _blocks():
    for path in DOCUMENTS:
        if "_build" in path.parts:
            continue
        for index, code in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)):
            yield pytest.param(code, id=f"{path.relative_to(ROOT)}:{index}")


BLOCKS = list(_blocks())


def test_the_documents_hold_code_blocks():
    assert len(BLOCKS) >= 15


@pytest.mark.parametrize("code", BLOCKS)
def test_code_block_runs_on_its_own(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the blocks write checkpoints and model files
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})
