"""Random and mutated cartridges never crash or hang the emulator.

The cases come from benchmarks/fuzz.py (which runs many more of them): for
every supported cartridge type, images with a valid header and random code
and data, some of them mutated, each run a few frames with random buttons
and a random save loaded. Each run has a cycle target and an instruction
limit; a case passes when the image is refused with a RomError or runs to
its target without an exception. A watchdog ends the whole process with a
traceback if a case ever hangs anyway.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import random
from pathlib import Path

import pytest

from gbemu.cartridge import CARTRIDGE_TYPES
from gbemu.machine import SUPPORTED_MAPPERS

FUZZ_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz.py"
CASES = 240
FIRST_SEED = 20261203
WATCHDOG_SECONDS = 300


def load_fuzz():
    spec = importlib.util.spec_from_file_location("gbemu_fuzz", FUZZ_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz = load_fuzz()


@pytest.fixture()
def watchdog():
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def test_the_cases_cover_every_supported_cartridge_type():
    drawn = {random.Random(seed).choice(fuzz.CART_TYPES)
             for seed in range(FIRST_SEED, FIRST_SEED + CASES)}
    supported = {code for code, kind in CARTRIDGE_TYPES.items()
                 if kind.mapper in SUPPORTED_MAPPERS}
    assert drawn == supported


def test_random_cartridges_never_raise_or_hang(watchdog):
    outcomes = {"ran": 0, "refused": 0}
    for seed in range(FIRST_SEED, FIRST_SEED + CASES):
        outcomes[fuzz.run_case(seed)] += 1
    # Most cases must really run: a generator that only made unloadable images
    # would test nothing.
    assert outcomes["ran"] > CASES * 0.8, outcomes


def test_a_stalled_clock_is_reported_as_a_failure(monkeypatch):
    # The fuzz's hang check: a run() that returns short of its target fails the case.
    monkeypatch.setattr(fuzz, "run", lambda state, target, max_steps: 0)
    with pytest.raises(AssertionError, match="clock stopped"):
        for seed in range(FIRST_SEED, FIRST_SEED + 20):
            fuzz.run_case(seed)
