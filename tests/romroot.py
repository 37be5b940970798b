"""Where the shared test ROM collection lives, for every test that needs it.

The rule: the directory named by the environment variable GBEMU_TEST_ROMS,
else ``../shared/roms`` next to the repository when that exists. ROM files
are never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV_VAR = "GBEMU_TEST_ROMS"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROM_ROOT = REPO_ROOT.parent / "shared" / "roms"


def find_rom_root() -> tuple[Path | None, str]:
    """(the ROM root, or None with the reason it is missing)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        root = Path(configured).expanduser()
        if root.is_dir():
            return root, ""
        return None, f"{ENV_VAR}={configured} is not a directory"
    if DEFAULT_ROM_ROOT.is_dir():
        return DEFAULT_ROM_ROOT, ""
    return None, (f"test ROMs not found: set {ENV_VAR} to the ROM collection "
                  f"(default {DEFAULT_ROM_ROOT} does not exist)")


def require_rom_root() -> Path:
    """The ROM root; skips the calling test with the reason when there is none."""
    root, reason = find_rom_root()
    if root is None:
        pytest.skip(reason)
    return root
