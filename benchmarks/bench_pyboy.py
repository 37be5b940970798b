#!/usr/bin/env python3
"""Compare gbemu's speed with PyBoy's on the same ROMs, in one run.

For every ROM both emulators run the same number of emulated seconds, from the state
the DMG boot ROM leaves at $0100, and the script prints emulated seconds per wall
second for each (higher is faster) and the ratio gbemu/PyBoy.

    python benchmarks/bench_pyboy.py                       # default ROMs, 30 s, 3 repeats
    python benchmarks/bench_pyboy.py --seconds 10 --repeat 5
    python benchmarks/bench_pyboy.py path/to/game.gb --render

How the two are driven:

* gbemu: ``GameBoy.from_file(rom)`` starts at $0100 without a boot ROM; one
  ``run_until`` call covers the whole run. numba's compile is warmed by a short run
  before anything is timed.
* PyBoy: window "null", ``sound_emulated=False``, DMG mode (``cgb=False``), ROM passed
  as bytes so no ``.ram`` file is read or written next to it. PyBoy always executes a
  boot ROM (its own when none is given), so it is ticked untimed, frame by frame, until
  the boot ROM has jumped to $0100; timing starts at the end of that frame. Without
  ``--render`` the run is one ``tick(frames, render=False)`` call, which in our trials
  was as fast as any other way of advancing (per-frame ticks, chunks of 60, passing
  ``sound=False``: all within the run-to-run noise); with ``--render`` every frame is
  rendered (``tick(1, render=True)`` per frame).

Each repeat uses fresh emulators, alternating gbemu and PyBoy; the table shows the
median of the repeats (``--verbose`` shows every run). PyBoy's emulated time is counted
as frames x 70,224 T-cycles, and gbemu runs exactly that many T-cycles.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402  (what the benchmark scripts share)
    CLOCK_HZ, FRAME_CYCLES, add_rom_arguments, boot_pyboy, default_rom_root, environment,
    find_roms, import_gbemu, import_pyboy,
)

EV_ILLEGAL = 0x04  # gbemu.core.hwio.EV_ILLEGAL: an unused opcode locked the CPU

DEFAULT_ROMS = (
    "blargg/cpu_instrs/cpu_instrs.gb",
    "homebrew/2048gb/2048.gb",
    "homebrew/tobutobugirl/tobu.gb",
    "homebrew/libbet/libbet.gb",
)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Emulated seconds per wall second, gbemu against PyBoy.")
    add_rom_arguments(parser, DEFAULT_ROMS)
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="emulated seconds per ROM and run (default 30)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per ROM and emulator; the median is reported (default 3)")
    parser.add_argument("--no-render", dest="render", action="store_false",
                        help="both emulators skip drawing pixels (default: both draw "
                             "every frame and hand it back to Python)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every run, not just the medians")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


# -- gbemu -------------------------------------------------------------------------------

def warm_gbemu(gbemu, rom: Path) -> str:
    from gbemu import _cache
    cold = _cache.is_cold(gbemu.CACHE_DIR)
    start = time.perf_counter()
    gb = gbemu.GameBoy.from_file(rom)
    gb.run_cycles(FRAME_CYCLES)
    elapsed = time.perf_counter() - start
    state = "cold, compiled now" if cold else "warm, loaded"
    return (f"gbemu: numba compile warmed before timing by a 1-frame run ({elapsed:.1f} s, "
            f"cache {state})\ngbemu: numba cache {gbemu.CACHE_DIR}")


def time_gbemu(gbemu, rom: Path, frames: int, render: bool) -> tuple[float, str]:
    gb = gbemu.GameBoy.from_file(rom)
    gb.event_mask = 0  # run to the target whatever happens; lock-ups are checked below
    gb.render = render
    events = 0
    start = time.perf_counter()
    if render:
        # Frame by frame, taking each finished frame as a frontend would.
        for _ in range(frames):
            events |= gb.run_until(gb.clock + FRAME_CYCLES)
            frame = gb.screen      # noqa: F841  (the frontend's view of the frame)
    else:
        events = gb.run_until(gb.clock + frames * FRAME_CYCLES)
    wall = time.perf_counter() - start
    note = "CPU locked up (unused opcode)" if events & EV_ILLEGAL else ""
    return wall, note


# -- PyBoy -------------------------------------------------------------------------------

def time_pyboy(PyBoy, rom_bytes: bytes, frames: int, render: bool) -> tuple[float, int]:
    pb, boot_frames = boot_pyboy(PyBoy, rom_bytes)
    try:
        if render:
            tick = pb.tick
            start = time.perf_counter()
            for _ in range(frames):
                tick(1, True, False)
            wall = time.perf_counter() - start
        else:
            start = time.perf_counter()
            pb.tick(frames, False, False)
            wall = time.perf_counter() - start
    finally:
        pb.stop(save=False)
    return wall, boot_frames


# -- report ------------------------------------------------------------------------------

def speed(seconds: float, walls: list[float]) -> float:
    return seconds / statistics.median(walls)


def main(argv=None) -> int:
    args = parse_args(argv)
    PyBoy = import_pyboy()
    gbemu = import_gbemu()

    root = args.rom_root or default_rom_root()
    names = args.roms or list(DEFAULT_ROMS)
    roms = find_roms(names, root)
    if not roms:
        print(f"no ROMs found (ROM root {root}; set GBEMU_TEST_ROMS or --rom-root)",
              file=sys.stderr)
        return 1

    frames = max(1, round(args.seconds * CLOCK_HZ / FRAME_CYCLES))
    emulated = frames * FRAME_CYCLES / CLOCK_HZ
    pyboy_mode = ("renders every frame, tick(1, render=True) per frame" if args.render
                  else "rendering off, one tick(frames, render=False) call per run")
    gbemu_mode = ("draws every frame, one run() call per frame" if args.render
                  else "drawing off (PPU timing only), one run() call per run")

    print("gbemu vs PyBoy: emulated seconds per wall second (higher is faster)")
    print(f"run: {frames} frames = {emulated:.2f} emulated s per ROM, {args.repeat} "
          f"repeat(s) alternating the emulators, median shown")
    print("PyBoy: window \"null\", sound emulation off (sound_emulated=False), "
          "DMG mode (cgb=False)")
    print(f"PyBoy: {pyboy_mode}")
    print(f"gbemu: {gbemu_mode}")
    print("start: gbemu at $0100 without a boot ROM; PyBoy runs its built-in boot ROM "
          "untimed to $0100")
    print(warm_gbemu(gbemu, roms[0][1]))
    print(flush=True)

    rows = []
    notes = []
    for name, path in roms:
        rom_bytes = path.read_bytes()
        gb_walls, pb_walls = [], []
        gb_error = pb_error = None
        boot_frames = None
        for run in range(args.repeat):
            if gb_error is None:
                try:
                    wall, note = time_gbemu(gbemu, path, frames, args.render)
                    gb_walls.append(wall)
                    if note and f"{name}: gbemu {note}" not in notes:
                        notes.append(f"{name}: gbemu {note}")
                except Exception as err:  # an unsupported cartridge, say
                    gb_error = f"{type(err).__name__}: {err}"
            if pb_error is None:
                try:
                    wall, boot_frames = time_pyboy(PyBoy, rom_bytes, frames, args.render)
                    pb_walls.append(wall)
                except Exception as err:
                    pb_error = f"{type(err).__name__}: {err}"
            if args.verbose:
                gb_run = f"{emulated / gb_walls[-1]:.1f}" if gb_walls else "-"
                pb_run = f"{emulated / pb_walls[-1]:.1f}" if pb_walls else "-"
                print(f"  {name} run {run + 1}: gbemu {gb_run}  PyBoy {pb_run}", flush=True)
        gb_speed = speed(emulated, gb_walls) if gb_walls else None
        pb_speed = speed(emulated, pb_walls) if pb_walls else None
        if gb_error:
            notes.append(f"{name}: gbemu failed: {gb_error}")
        if pb_error:
            notes.append(f"{name}: PyBoy failed: {pb_error}")
        rows.append((name, gb_speed, pb_speed, boot_frames))

    width = max(len("ROM"), *(len(name) for name, *_ in rows))
    header = f"{'ROM':<{width}}  {'gbemu':>9}  {'PyBoy':>9}  {'gbemu/PyBoy':>11}"
    print(header)
    print("-" * len(header))
    ratios = []
    for name, gb_speed, pb_speed, _ in rows:
        gb_text = f"{gb_speed:8.1f}x" if gb_speed else "failed"
        pb_text = f"{pb_speed:8.1f}x" if pb_speed else "failed"
        if gb_speed and pb_speed:
            ratios.append(gb_speed / pb_speed)
            ratio_text = f"{gb_speed / pb_speed:11.2f}"
        else:
            ratio_text = "-"
        print(f"{name:<{width}}  {gb_text:>9}  {pb_text:>9}  {ratio_text:>11}")
    if len(ratios) > 1:
        print(f"{'geometric mean':<{width}}  {'':>9}  {'':>9}  "
              f"{statistics.geometric_mean(ratios):11.2f}")
    print()
    boots = [f"{name.rsplit('/', 1)[-1]} {boot}" for name, *_, boot in rows if boot]
    if boots:
        print("PyBoy boot ROM frames (untimed): " + ", ".join(boots))
    for note in notes:
        print("note: " + note)
    for line in environment(gbemu):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
