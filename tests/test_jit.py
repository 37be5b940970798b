"""The compiled entry points keep a single specialisation.

Every entry point of gbemu.core.cpu takes the state record array and Python ints.
A second signature would mean some caller passed another type (a numpy scalar, a
non-contiguous view, a different dtype): numba would compile the whole core again,
costing seconds per call site and bypassing the on-disk cache. This test runs the
entry points the way the machine and the tests do and then counts signatures; run
with the whole suite, it also catches other test modules adding specialisations.
"""

from __future__ import annotations

import inspect

import pytest
from numba.core.registry import CPUDispatcher

import gbemu  # noqa: F401  (sets NUMBA_CACHE_DIR before gbemu.core is imported)
from gbemu import GameBoy
from gbemu.cartridge import NINTENDO_LOGO, compute_header_checksum
from gbemu.core import cpu
from gbemu.core.state import new_state

ENTRY_POINTS = (cpu.run, cpu.sync_all, cpu.peek_byte, cpu.reset_cartridge)
PROGRAM = bytes((0x3C, 0x18, 0xFD))          # loop: INC A; JR loop


def build_rom() -> bytes:
    """A 32 KiB ROM-only image with a valid header running PROGRAM from $0100."""
    image = bytearray(0x8000)
    image[0x100:0x100 + len(PROGRAM)] = PROGRAM
    image[0x104:0x134] = NINTENDO_LOGO
    image[0x14D] = compute_header_checksum(bytes(image))
    return bytes(image)


def record_entry_points():
    """Dispatchers in gbemu.core.cpu whose first parameter is the record array `st`
    (helpers take the record itself, `s`)."""
    found = set()
    for value in vars(cpu).values():
        if isinstance(value, CPUDispatcher) and value.py_func.__module__ == cpu.__name__:
            parameters = list(inspect.signature(value.py_func).parameters)
            if parameters[:1] == ["st"]:
                found.add(value)
    return found


def test_entry_point_list_is_complete():
    """Every function of gbemu.core.cpu that takes the record array is exercised below."""
    names = sorted(fn.__name__ for fn in record_entry_points())
    assert names == sorted(fn.__name__ for fn in ENTRY_POINTS)


@pytest.fixture(scope="module")
def exercised():
    """Call every entry point through GameBoy and directly, on a cartridge and a flat bus."""
    gb = GameBoy(build_rom())
    gb.step(3)
    gb.run_cycles(1000)
    gb.run_frames(1)
    gb.sync()
    assert gb.peek(0x0100) == PROGRAM[0]
    gb.reset()
    cpu.run(gb.state, gb.clock + 100, cpu.NO_STEP_LIMIT)
    cpu.run_instructions(gb.state, 2)
    cpu.sync_all(gb.state)
    cpu.peek_byte(gb.state, 0xFF44)
    cpu.reset_cartridge(gb.state)
    flat = new_state()
    flat[0]["flat_bus"] = 1
    cpu.run_instructions(flat, 4)
    cpu.peek_byte(flat, 0x0000)


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda fn: fn.__name__)
def test_entry_point_has_one_signature(exercised, entry):
    """Each entry point has exactly one compiled signature after all those calls."""
    assert len(entry.signatures) == 1, entry.signatures


def test_audio_kernels_have_one_signature_each():
    """gbemu.audio hands the compiled DSP loops one type per argument, whatever the caller
    passes: int16 or float samples, Python or numpy numbers, views or copies."""
    import numpy as np

    from gbemu.audio import AudioPipeline, HighPass, Resampler, WavWriter  # noqa: F401
    from gbemu.core import dsp

    ramp = np.arange(2000, dtype=np.int16).reshape(1000, 2)
    for out_rate in (48_000, 44_100, 65_536):
        pipeline = AudioPipeline(out_rate, volume=np.float32(0.5))
        pipeline.process(ramp)
        pipeline.process(ramp[::2])                       # a strided view
        pipeline.process(ramp.astype(np.float64), nudge=np.float64(0.001))
    HighPass().process(ramp[:, ::-1])
    Resampler().process(ramp.astype(np.float32).T.copy().T)   # Fortran-ordered
    kernels = [value for value in vars(dsp).values() if isinstance(value, CPUDispatcher)]
    assert len(kernels) >= 4
    for kernel in kernels:
        assert len(kernel.signatures) <= 1, (kernel.__name__, kernel.signatures)
