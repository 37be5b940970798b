#!/usr/bin/env python3
"""What the debugger costs: frames per second under ``gbemu debug`` against ``gbemu run``.

    python benchmarks/bench_debugger.py                   # default ROMs, 20 emulated s, 7 repeats
    python benchmarks/bench_debugger.py --seconds 10 --repeat 5 path/to/game.gb

Every configuration runs the same ROM from power-on for the same emulated time,
headless, drawing every frame, in one process, alternating within each repeat:

* plain: ``gb.run_until`` one frame at a time, as ``gbemu run --headless`` does;
* debugger, nothing set: ``Debugger.advance(until=...)``, the debugger's
  ``continue`` up to the same clock (snapshots for backstep are taken as in any run);
* debugger, one breakpoint: an exec breakpoint at $3FFF whose condition never holds
  (A > $FF), so every instruction is checked against the map;
* debugger, I/O-area watch: a write watchpoint on $FEFF (in the unusable area, which
  like I/O, VRAM and OAM is served by the bus's slow path, where watchpoints are
  checked) whose condition never holds;
* debugger, WRAM write watch: a write watchpoint on $CFFF whose condition never
  holds. WRAM and HRAM writes are served inline by the bus's fast path, which does
  not look at watchpoints, so this sends every write through the careful path;
  reads stay inline;
* debugger, WRAM read watch: a read watchpoint on $CFFF, likewise for reads: every
  read leaves the inlined path, those of WRAM and HRAM take the careful path, and
  ROM reads are served by the slow path at once;
* debugger, ROM read watch: a read watchpoint on $3FFF: the same with ROM reads,
  instruction fetches included, on the careful path.

A program that does reach or read $3FFF, or write $FEFF or $CFFF, stops in the core
and is resumed by Python after the condition is checked; that cost is part of the
figure.

The table shows the best frames per second of the repeats and each ratio to
plain; the aim is that "nothing set" stays within 5 % of plain. Best, not
median: other work on the machine only ever slows a run down, and the
differences measured here (a few per cent) are smaller than the 10-20 %
that a busy 2-core machine adds to single runs.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402  (what the benchmark scripts share)
    CLOCK_HZ, FRAME_CYCLES, add_rom_arguments, default_rom_root, environment, find_roms,
    import_gbemu,
)

DEFAULT_ROMS = (
    "blargg/cpu_instrs/cpu_instrs.gb",
    "homebrew/2048gb/2048.gb",
    "homebrew/tobutobugirl/tobu.gb",
    "homebrew/libbet/libbet.gb",
)
CONFIGS = ("plain", "debugger, nothing set", "debugger, one breakpoint",
           "debugger, I/O-area watch", "debugger, WRAM write watch",
           "debugger, WRAM read watch", "debugger, ROM read watch")


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Frames per second with the debugger.")
    add_rom_arguments(parser, DEFAULT_ROMS)
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="emulated seconds per run (default 20)")
    parser.add_argument("--repeat", type=int, default=7, help="runs of each (default 7)")
    return parser.parse_args(argv)


def measure(gbemu, rom: bytes, config: str, frames: int) -> float:
    """Frames per second of one fresh run over the same emulated time (frames x
    70,224 T-cycles): the debugger runs as its `continue` does, in stretches of 16
    frames with a snapshot after each, until the clock reaches the same point."""
    from gbemu.debugger import Debugger

    gb = gbemu.GameBoy(rom)
    if config == "plain":
        start = time.perf_counter()
        for _ in range(frames):
            gb.run_until(gb.clock + FRAME_CYCLES)
        return frames / (time.perf_counter() - start)
    debugger = Debugger(gb, out=io.StringIO())
    if config.endswith("breakpoint"):
        debugger.execute("break $3FFF if A > $FF")
    elif config.endswith("I/O-area watch"):
        debugger.execute("watch $FEFF write if A > $FF")
    elif config.endswith("WRAM write watch"):
        debugger.execute("watch $CFFF write if A > $FF")
    elif config.endswith("WRAM read watch"):
        debugger.execute("watch $CFFF read if A > $FF")
    elif config.endswith("ROM read watch"):
        debugger.execute("watch $3FFF read if A > $FF")
    start = time.perf_counter()
    stop = debugger.advance(until=gb.clock + frames * FRAME_CYCLES)
    elapsed = time.perf_counter() - start
    if stop.stopped:
        raise RuntimeError(f"the debugger stopped early: {stop.reason}")
    return frames / elapsed


def main(argv=None) -> int:
    args = parse_args(argv)
    gbemu = import_gbemu()
    from gbemu.testrunner import compile_core

    compile_core()
    root = args.rom_root or default_rom_root()
    roms = find_roms(args.roms or DEFAULT_ROMS, root)
    if not roms:
        print("no ROMs found", file=sys.stderr)
        return 2
    frames = round(args.seconds * CLOCK_HZ / FRAME_CYCLES)
    for _, path in roms[:1]:               # warm every code path once
        for config in CONFIGS:
            measure(gbemu, path.read_bytes(), config, 10)
    print(f"{frames} frames ({args.seconds:g} emulated s) per run, best of {args.repeat}, "
          "headless, drawing every frame\n")
    header = f"{'ROM':<34}" + "".join(f"{c.replace('debugger, ', ''):>19}" for c in CONFIGS)
    print(header)
    for name, path in roms:
        rom = path.read_bytes()
        results = {config: [] for config in CONFIGS}
        for _ in range(args.repeat):
            for config in CONFIGS:
                results[config].append(measure(gbemu, rom, config, frames))
        plain = max(results["plain"])
        cells = []
        for config in CONFIGS:
            fps = max(results[config])
            cells.append(f"{fps:,.0f} fps" if config == "plain" else f"{fps / plain:.3f}")
        print(f"{name:<34}" + "".join(f"{cell:>19}" for cell in cells))
    print("\nall but plain run under the debugger, shown as frames per second against "
          "plain: 1.000 is no cost")
    for line in environment(gbemu):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
