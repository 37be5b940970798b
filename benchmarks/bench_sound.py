#!/usr/bin/env python3
"""What sound costs: frames per second with sound on and off, gbemu and PyBoy, in one run.

    python benchmarks/bench_sound.py                      # tobu.gb, 30 emulated s, 3 repeats
    python benchmarks/bench_sound.py --seconds 10 --repeat 5 path/to/game.gb
    python benchmarks/bench_sound.py --realtime 10        # 10 minutes paced in real time

Both emulators are driven one frame at a time, as a frontend drives them, with
rendering off (gbemu: ``render = False``; PyBoy: ``render=False``), from the state the
boot ROM leaves at $0100:

* gbemu, sound off: ``run_frames(1)`` per frame (``audio_enabled`` False).
* gbemu, sound on: ``audio_enabled = True``; per frame ``run_frames(1)`` and
  ``read_samples()`` (stereo int16 at 65,536 Hz, from the core's ring buffer).
* gbemu, sound on + device pipeline: as above, then ``gbemu.audio.AudioPipeline``
  (DC-blocking high-pass, windowed-sinc resampling to 48 kHz, int16), which is what
  ``AudioOutput`` adds before handing samples to the mixer.
* PyBoy, sound off: window "null", ``sound_emulated=False``, ``tick(1, False, False)``.
* PyBoy, sound on: ``sound_emulated=True`` (48 kHz), ``tick(1, False, True)`` and
  ``sound.ndarray`` read per frame.

Each repeat alternates the emulators with fresh instances; the table shows medians.

``--realtime MINUTES`` instead plays one ROM paced in real time at ``--fps`` (default
59.7275, the DMG's rate, as gbemu's window paces it) through ``gbemu.audio.AudioOutput``
on SDL's audio driver (``SDL_AUDIODRIVER``), and reports the output buffer level once
per ``--report-every`` seconds and in summary: where rate control holds it, underruns,
dropped samples. On a machine without a sound card use ``SDL_AUDIODRIVER=dummy``. That
driver's clock is not a sound card's: it sleeps a whole number of milliseconds per
mixer buffer, so it plays 512 samples at 48 kHz (10.67 ms) in about 10 ms, 4.5 % fast,
beyond what a ratio nudge of 1 % may correct. With 1024-sample buffers at 44.1 kHz
(the defaults here, ``--rate`` and ``--mixer-buffer``) it sleeps 23 ms per 23.2 ms of
sound, plus whatever the sleep overshoots by, so its speed depends on the machine's
load: we have measured it 0.3 % fast, and 0.40 % and 0.57 % slow over ten minutes,
with stretches of a minute over 1 % slow.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402  (what the benchmark scripts share)
    CLOCK_HZ, FRAME_CYCLES, add_rom_arguments, boot_pyboy, default_rom_root, environment,
    find_roms, import_gbemu, import_pyboy,
)

GB_FPS = CLOCK_HZ / FRAME_CYCLES
DEFAULT_ROMS = ("homebrew/tobutobugirl/tobu.gb",)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Frames per second with sound on and off.")
    add_rom_arguments(parser, DEFAULT_ROMS)
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="emulated seconds per run (default 30)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per configuration; the median is shown (default 3)")
    parser.add_argument("--no-pyboy", action="store_true", help="time gbemu only")
    parser.add_argument("--realtime", type=float, metavar="MINUTES",
                        help="play the first ROM in real time for MINUTES through "
                             "gbemu.audio.AudioOutput and report its buffer level")
    parser.add_argument("--fps", type=float, default=CLOCK_HZ / FRAME_CYCLES,
                        help="--realtime: frames per wall second (default 59.7275)")
    parser.add_argument("--rate", type=int, default=44_100,
                        help="--realtime: mixer sample rate (default 44100)")
    parser.add_argument("--mixer-buffer", type=int, default=1024,
                        help="--realtime: samples per SDL mixing callback (default 1024)")
    parser.add_argument("--max-nudge", type=float, metavar="PERCENT",
                        help="--realtime: largest rate-control change of the ratio "
                             "(default: gbemu.audio.MAX_RATE_NUDGE, 1 %%)")
    parser.add_argument("--switch-interval", type=float, default=5.0, metavar="MS",
                        help="--realtime: Python's thread switch interval (default 5, "
                             "Python's own)")
    parser.add_argument("--report-every", type=float, default=30.0, metavar="SECONDS",
                        help="--realtime: print the buffer level this often (default 30)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.repeat < 1:
        parser.error("--seconds must be positive and --repeat at least 1")
    return args


# -- frames per second ---------------------------------------------------------------

def time_gbemu(gbemu, rom: Path, frames: int, sound: str) -> float:
    """Wall seconds for ``frames`` frames; sound is "off", "core" or "pipeline"."""
    gb = gbemu.GameBoy.from_file(rom)
    gb.event_mask = 0
    gb.render = False           # as PyBoy's tick(1, render=False): timing, no pixels
    pipeline = None
    if sound != "off":
        gb.audio_enabled = True
        if sound == "pipeline":
            from gbemu.audio import AudioPipeline
            pipeline = AudioPipeline(48_000)
    run_frames = gb.run_frames
    start = time.perf_counter()
    if sound == "off":
        for _ in range(frames):
            run_frames(1)
    else:
        read = gb.read_samples
        for _ in range(frames):
            run_frames(1)
            samples = read()
            if pipeline is not None:
                pipeline.process(samples)
    return time.perf_counter() - start


def time_pyboy(PyBoy, rom_bytes: bytes, frames: int, sound: bool) -> float:
    pb, _boot_frames = boot_pyboy(PyBoy, rom_bytes, sound)
    try:
        tick = pb.tick
        start = time.perf_counter()
        if sound:
            for _ in range(frames):
                tick(1, False, True)
                pb.sound.ndarray
        else:
            for _ in range(frames):
                tick(1, False, False)
        return time.perf_counter() - start
    finally:
        pb.stop(save=False)


def fps_table(args, gbemu, roms) -> None:
    PyBoy = None if args.no_pyboy else import_pyboy()
    frames = max(1, round(args.seconds * GB_FPS))
    configs = [("gbemu", "off"), ("gbemu", "core"), ("gbemu", "pipeline")]
    if PyBoy is not None:
        configs += [("pyboy", False), ("pyboy", True)]
    labels = {("gbemu", "off"): "gbemu sound off", ("gbemu", "core"): "gbemu sound on",
              ("gbemu", "pipeline"): "gbemu on+48k", ("pyboy", False): "PyBoy sound off",
              ("pyboy", True): "PyBoy sound on"}

    # Warm numba's compile (both paths) before anything is timed.
    start = time.perf_counter()
    time_gbemu(gbemu, roms[0][1], 2, "core")
    print(f"gbemu: compile warmed by a 2-frame run ({time.perf_counter() - start:.1f} s)")
    print(f"run: {frames} frames ({frames / GB_FPS:.1f} emulated s) per configuration, "
          f"{args.repeat} repeat(s), median; one frame per call, rendering off")
    print("frames per wall second (real time is 59.7)\n", flush=True)

    for name, path in roms:
        rom_bytes = path.read_bytes()
        walls = {config: [] for config in configs}
        for _ in range(args.repeat):
            for config in configs:
                if config[0] == "gbemu":
                    walls[config].append(time_gbemu(gbemu, path, frames, config[1]))
                else:
                    walls[config].append(time_pyboy(PyBoy, rom_bytes, frames, config[1]))
        fps = {config: frames / statistics.median(w) for config, w in walls.items()}
        print(name)
        for config in configs:
            print(f"  {labels[config]:<18} {fps[config]:9.0f} fps")
        on, off = fps[("gbemu", "core")], fps[("gbemu", "off")]
        print(f"  gbemu sound on / off             {on / off:6.2f}")
        print(f"  gbemu on+48k / off               {fps[('gbemu', 'pipeline')] / off:6.2f}")
        if PyBoy is not None:
            pb_on, pb_off = fps[("pyboy", True)], fps[("pyboy", False)]
            print(f"  PyBoy sound on / off             {pb_on / pb_off:6.2f}")
            print(f"  gbemu / PyBoy, sound off         {off / pb_off:6.2f}")
            print(f"  gbemu / PyBoy, sound on          {on / pb_on:6.2f}")
            print(f"  gbemu on+48k / PyBoy sound on    {fps[('gbemu', 'pipeline')] / pb_on:6.2f}")
        print(flush=True)


# -- real time -----------------------------------------------------------------------

def realtime(args, gbemu, rom: Path) -> None:
    import os
    from gbemu.audio import MAX_RATE_NUDGE, AudioOutput

    if args.max_nudge is None:
        args.max_nudge = 100 * MAX_RATE_NUDGE
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    # pygame's mixer thread needs the GIL each time a queued Sound starts; let it
    # have it sooner than Python's default 5 ms switch interval would.
    sys.setswitchinterval(args.switch_interval / 1000)
    import pygame
    pygame.display.init()
    output = AudioOutput(args.rate, mixer_buffer=args.mixer_buffer,
                         max_nudge=args.max_nudge / 100)
    output.start()
    print(f"real time: {rom.name} for {args.realtime:g} min at {args.fps:g} fps, "
          f"audio driver {os.environ.get('SDL_AUDIODRIVER', '(SDL default)')}, "
          f"mixer {output.rate} Hz, buffer {args.mixer_buffer}, "
          f"ratio nudged by at most {args.max_nudge:g} %, "
          f"target level {output.target} samples "
          f"({1000 * output.target / output.rate:.0f} ms)", flush=True)
    gb = gbemu.GameBoy.from_file(rom)
    gb.audio_enabled = True
    gb.run_frames(1)            # compile (when the cache is cold) before the clock starts
    gb.read_samples()
    period = 1.0 / args.fps
    end = time.perf_counter() + args.realtime * 60
    next_frame = time.perf_counter()
    next_report = next_frame + args.report_every
    levels, nudges, lates = [], [], 0
    window = []
    print(f"{'t (s)':>7} {'level ms min/mean/max':>24} {'nudge %':>8} {'underruns':>9} "
          f"{'dropped':>8}")
    started = time.perf_counter()
    while time.perf_counter() < end:
        gb.run_frames(1)
        output.feed(gb.read_samples())
        level_ms = 1000 * output.level / output.rate
        levels.append(level_ms)
        window.append(level_ms)
        nudges.append(output.nudge)
        pygame.event.pump()
        next_frame += period
        delay = next_frame - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -period:
            lates += 1
            next_frame = time.perf_counter()
        if time.perf_counter() >= next_report:
            print(f"{time.perf_counter() - started:7.0f} {min(window):7.1f} "
                  f"{statistics.mean(window):7.1f} {max(window):7.1f} "
                  f"{100 * output.nudge:8.3f} {output.underruns:9d} {output.dropped:8d}",
                  flush=True)
            window = []
            next_report += args.report_every
    elapsed = time.perf_counter() - started
    consumed = output.handed - output._queued_len - output._playing_left()
    output.stop()
    pygame.quit()
    settled = levels[len(levels) // 10:]     # after the first tenth, once control settled
    print()
    print(f"frames: {len(levels)} in {time.perf_counter() - started:.1f} s; late frames: {lates}")
    print(f"level (ms): min {min(levels):.1f}, mean {statistics.mean(levels):.1f}, "
          f"max {max(levels):.1f}; after the first tenth: min {min(settled):.1f}, "
          f"mean {statistics.mean(settled):.1f}, max {max(settled):.1f}, "
          f"stdev {statistics.pstdev(settled):.1f}")
    print(f"ratio nudge (%): mean {100 * statistics.mean(nudges):.3f} "
          f"(the frontend's {args.fps:g} fps against {GB_FPS:.3f} calls for "
          f"{100 * (args.fps / GB_FPS - 1):.3f}), min {100 * min(nudges):.3f}, "
          f"max {100 * max(nudges):.3f}")
    print(f"underruns: {output.underruns}, dropped samples: {output.dropped} "
          f"(in {output.drops} cut(s))")
    print(f"the device played {consumed / elapsed:.1f} samples per wall second "
          f"({100 * (consumed / elapsed / output.rate - 1):+.2f} % against its nominal "
          f"{output.rate}, underrun gaps included)")


def main(argv=None) -> int:
    args = parse_args(argv)
    gbemu = import_gbemu()
    root = args.rom_root or default_rom_root()
    roms = find_roms(args.roms or DEFAULT_ROMS, root)
    if not roms:
        print(f"no ROMs found (ROM root {root})", file=sys.stderr)
        return 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.realtime:
            realtime(args, gbemu, roms[0][1])
        else:
            fps_table(args, gbemu, roms)
    for line in environment(gbemu):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
