"""Shared pytest fixtures: ``rom_root``, the test ROM collection (see tests/romroot.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.romroot import require_rom_root


@pytest.fixture(scope="session")
def rom_root() -> Path:
    """The test ROM collection; tests using it skip when it is absent."""
    return require_rom_root()
