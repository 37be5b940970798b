"""The README's Python API example runs as written, on the demo cartridge."""

from __future__ import annotations

import re

import numpy as np

from tests.romroot import REPO_ROOT

DEMO = REPO_ROOT / "gbemu" / "assets" / "demo.gb"


def readme_example() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the Python API section shows one example"
    return blocks[0]


def test_the_python_api_example_runs():
    names = {"rom_path": str(DEMO)}
    exec(compile(readme_example(), "README.md (Python API)", "exec"), names)
    gb = names["gb"]
    assert names["screen"].shape == (144, 160) and names["screen"].dtype == np.uint8
    assert 0 <= names["ly"] <= 153 and 0 <= names["pc"] <= 0xFFFF
    assert gb.frames >= 60
