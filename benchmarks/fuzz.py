#!/usr/bin/env python3
"""Fuzz the emulator with random and mutated cartridges: nothing may raise or hang.

Each case builds a cartridge image with a valid header (the Nintendo logo and
a correct header checksum) for one of the supported cartridge types, fills it
with random bytes and a random program that leans on what cartridges do
(controller register writes, RAM and clock accesses, bank switching, jumps
into banked ROM), sometimes mutates it (bytes flipped anywhere but the logo,
the header included, the image cut short or grown), gives a battery
cartridge a random save to load, and runs it for a few frames with random
buttons. The run uses both a cycle target and an instruction limit, so a run
that stopped advancing the clock is caught as a failure instead of a hang.

A case passes when the image is refused with a RomError (a mutated header
may ask for an unknown cartridge type) or when it runs to its cycle target
without any exception.

    python benchmarks/fuzz.py --cases 2000 [--seed N] [--frames F]

prints the count of cases run and refused and exits 1 on the first failure,
printing its seed so it can be replayed with ``--seed N --cases 1``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from pathlib import Path

try:
    import gbemu  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # an uninstalled checkout

from gbemu.cartridge import (
    CARTRIDGE_TYPES, NINTENDO_LOGO, RAM_SIZE_BY_CODE, RomError, compute_header_checksum,
)
from gbemu.core.cpu import run
from gbemu.machine import BUTTONS, FRAME_CYCLES, GameBoy, SUPPORTED_MAPPERS

CART_TYPES = sorted(code for code, kind in CARTRIDGE_TYPES.items()
                    if kind.mapper in SUPPORTED_MAPPERS)
# The largest ROM size code each controller can address (32 KiB << code).
MAX_ROM_CODE = {"none": 0, "mbc1": 6, "mbc2": 3, "mbc3": 7, "mbc5": 8}
LOGO = slice(0x104, 0x134)
PROGRAM_START = 0x150
MIN_STEP_CYCLES = 4             # no instruction takes less than one M-cycle
FRAMES = 4


def random_program(rng: random.Random, length: int) -> bytes:
    """SM83 code that pokes at the cartridge: register writes, RAM, clock, jumps."""
    code = bytearray()
    while len(code) < length:
        kind = rng.randrange(8)
        if kind == 0:           # LD A,n ; LD (controller register),A
            addr = rng.randrange(0, 0x8000)
            code += bytes((0x3E, rng.randrange(256), 0xEA, addr & 0xFF, addr >> 8))
        elif kind == 1:         # enable RAM / the clock
            code += bytes((0x3E, 0x0A, 0xEA, 0x00, rng.randrange(0, 0x20)))
        elif kind == 2:         # LD A,n ; LD (RAM),A
            addr = rng.randrange(0xA000, 0xC000)
            code += bytes((0x3E, rng.randrange(256), 0xEA, addr & 0xFF, addr >> 8))
        elif kind == 3:         # LD A,(RAM) or LD A,(ROM)
            addr = rng.randrange(0, 0xC000)
            code += bytes((0xFA, addr & 0xFF, addr >> 8))
        elif kind == 4:         # latch the clock, select a clock register
            code += bytes((0xAF, 0xEA, 0x00, 0x60, 0x3C, 0xEA, 0x00, 0x60,
                           0x3E, rng.randrange(0x08, 0x0D), 0xEA, 0x00, 0x40))
        elif kind == 5:         # JP / CALL into banked ROM
            addr = rng.randrange(0x4000, 0x8000)
            code += bytes((rng.choice([0xC3, 0xCD]), addr & 0xFF, addr >> 8))
        elif kind == 6:         # a short tight loop: DEC B ; JR NZ,-3
            code += bytes((0x06, rng.randrange(256), 0x05, 0x20, 0xFD))
        else:                   # anything at all
            code += rng.randbytes(rng.randrange(1, 8))
    return bytes(code[:length])


def make_image(rng: random.Random, cart_type: int) -> bytes:
    """A cartridge image of ``cart_type`` with a valid header and random contents."""
    kind = CARTRIDGE_TYPES[cart_type]
    rom_code = rng.randrange(0, MAX_ROM_CODE[kind.mapper] + 1)
    if rom_code > 4 and rng.random() < 0.7:
        rom_code = rng.randrange(0, 5)      # mostly small: building 8 MiB takes time
    size = 0x8000 << rom_code
    image = bytearray(rng.randbytes(size))
    # Random code at the start of some banks, so jumps into banked ROM run it too.
    for bank in range(min(size // 0x4000, 8)):
        start = bank * 0x4000 + (PROGRAM_START if bank == 0 else 0)
        image[start:start + 0x400] = random_program(rng, 0x400)
    image[0x100:0x104] = bytes((0x00, 0xC3, PROGRAM_START & 0xFF, PROGRAM_START >> 8))
    image[LOGO] = NINTENDO_LOGO
    image[0x143] = 0x00
    image[0x147] = cart_type
    image[0x148] = rom_code
    ram_codes = sorted(RAM_SIZE_BY_CODE) if kind.has_ram else [0]
    image[0x149] = rng.choice(ram_codes + [0x07])    # now and then an undefined code
    image[0x14D] = compute_header_checksum(bytes(image))
    return bytes(image)


def mutate(rng: random.Random, image: bytes) -> bytes:
    """Flip random bytes (header included, logo spared), maybe cut or grow the image."""
    data = bytearray(image)
    for _ in range(rng.randrange(1, 64)):
        where = rng.randrange(len(data))
        if not LOGO.start <= where < LOGO.stop:
            data[where] = rng.randrange(256)
    if rng.random() < 0.2:
        where = rng.randrange(0x147, 0x14A)
        data[where] = rng.randrange(256)     # type or sizes: often not loadable
    if rng.random() < 0.5:
        data[0x14D] = compute_header_checksum(bytes(data))
    roll = rng.random()
    if roll < 0.1:
        data = data[:rng.randrange(0x150, len(data) + 1)]
    elif roll < 0.2:
        data += rng.randbytes(rng.randrange(1, 0x8000))
    return bytes(data)


def random_save(rng: random.Random, gb: GameBoy) -> bytes:
    """A save of a size the cartridge accepts, with random RAM and clock footer."""
    size = rng.choice(gb.save_sizes)
    data = bytearray(rng.randbytes(size))
    ram = len(gb.cart_ram)
    if size > ram and rng.random() < 0.5:
        # A plausible stamp, from seconds to years ago.
        stamp = int(time.time() - rng.randrange(0, 1 << 30))
        end = ram + 40
        data[end:end + (size - end)] = stamp.to_bytes(size - end, "little", signed=False)
    return bytes(data)


def run_case(seed: int, frames: int = FRAMES) -> str:
    """Build, maybe mutate, load and run one case; returns "ran" or "refused".

    Raises AssertionError when the machine stopped advancing its clock, and
    lets every other exception through: both are failures.
    """
    rng = random.Random(seed)
    cart_type = rng.choice(CART_TYPES)
    image = make_image(rng, cart_type)
    if rng.random() < 0.5:
        image = mutate(rng, image)
    try:
        gb = GameBoy(image, path=f"<fuzz case {seed}>")
    except RomError:
        return "refused"
    if gb.has_battery and rng.random() < 0.7:
        gb.load_ram(random_save(rng, gb))
    gb.event_mask = 0                       # run to the target whatever happens
    for _ in range(frames):
        if rng.random() < 0.3:
            gb.set_buttons([name for name in BUTTONS if rng.random() < 0.3])
        target = gb.clock + FRAME_CYCLES
        run(gb.state, target, FRAME_CYCLES // MIN_STEP_CYCLES + 1)
        assert gb.clock >= target, (f"case {seed}: the clock stopped at {gb.clock} "
                                    f"short of {target} (PC=${gb.registers['PC']:04X})")
    if gb.has_battery:
        gb.load_ram(gb.save_ram())          # what it writes, it can read back
    return "ran"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="cases to run (default 1000)")
    parser.add_argument("--seed", type=int, default=None,
                        help="first case's seed (default: from the clock)")
    parser.add_argument("--frames", type=int, default=FRAMES,
                        help=f"frames each case runs (default {FRAMES})")
    args = parser.parse_args(argv)
    first = args.seed if args.seed is not None else int(time.time())
    counts = {"ran": 0, "refused": 0}
    started = time.perf_counter()
    for seed in range(first, first + args.cases):
        try:
            counts[run_case(seed, args.frames)] += 1
        except Exception as error:      # every exception is a finding: report it
            print(f"FAIL case seed {seed}: {type(error).__name__}: {error}")
            print(f"replay: python benchmarks/fuzz.py --seed {seed} --cases 1")
            return 1
    wall = time.perf_counter() - started
    print(f"{args.cases} cases (seeds {first}..{first + args.cases - 1}): "
          f"{counts['ran']} ran {args.frames} frames, {counts['refused']} refused at load, "
          f"0 failures, {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
