"""Frame pacing of the window frontend: how close to the DMG's 59.7275 Hz, at what CPU cost.

    python benchmarks/pacing.py [--frames 600] [--rom ROM] [--driver x11|dummy]

Runs ROM (default: the demo) in the real window for --frames frames and prints the mean
frame period and its deviation from 16.742 ms (70224 T-cycles at 4,194,304 Hz), the
spread of single periods, the drift of the last frame from its ideal time, and the CPU
time the process used per wall second (resource.getrusage: user + system).

Without a DISPLAY it starts its own Xvfb when there is one (apt-get install xvfb),
else it uses SDL's dummy video driver (and says so).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def start_xvfb():
    for number in range(90, 140):
        if not Path(f"/tmp/.X{number}-lock").exists():
            server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1024x768x24",
                                       "-nolisten", "tcp"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            socket = Path(f"/tmp/.X11-unix/X{number}")
            for _ in range(200):
                if socket.exists():
                    os.environ["DISPLAY"] = f":{number}"
                    return server
                time.sleep(0.05)
            server.kill()
    raise SystemExit("pacing: could not start Xvfb")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--rom", default=str(REPO_ROOT / "gbemu" / "assets" / "demo.gb"))
    parser.add_argument("--driver", choices=("x11", "dummy"),
                        help="SDL video driver (default: x11 when a display is available)")
    args = parser.parse_args(argv)

    server = None
    if args.driver == "dummy" or (args.driver is None and not os.environ.get("DISPLAY")
                                  and shutil.which("Xvfb") is None):
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        where = "SDL dummy video driver (no display)"
    else:
        if not os.environ.get("DISPLAY"):
            server = start_xvfb()
            where = f"X11 window on our own Xvfb {os.environ['DISPLAY']}"
        else:
            where = f"X11 window on DISPLAY={os.environ['DISPLAY']}"
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

    from gbemu import config, frontend
    from gbemu.machine import GameBoy
    from gbemu.testrunner import compile_core

    compile_core()
    gb = GameBoy.from_file(args.rom)
    front = frontend.Frontend(gb, config.defaults(), rom_path=args.rom)
    stamps = []
    pacer = front.pacer
    plain_wait = pacer.wait

    def wait_and_stamp():
        late = plain_wait()
        stamps.append(time.perf_counter())
        return late

    pacer.wait = wait_and_stamp
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_before = time.perf_counter()
    try:
        front.run(max_frames=args.frames)
    finally:
        if server is not None:
            server.terminate()
    wall = time.perf_counter() - wall_before
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ((usage.ru_utime - usage_before.ru_utime)
           + (usage.ru_stime - usage_before.ru_stime))

    ideal = frontend.FRAME_PERIOD
    periods = [b - a for a, b in zip(stamps, stamps[1:])]
    mean = statistics.fmean(periods)
    drift = (stamps[-1] - stamps[0]) - (len(stamps) - 1) * ideal
    print(f"pacing: {len(stamps)} frames of {Path(args.rom).name} in a {where}")
    print(f"ideal period      {ideal * 1000:.4f} ms ({frontend.FRAME_RATE:.4f} Hz)")
    print(f"mean period       {mean * 1000:.4f} ms "
          f"(deviation {(mean - ideal) * 1e6:+.2f} us, {(mean / ideal - 1) * 100:+.4f} %)")
    print(f"single periods    stdev {statistics.pstdev(periods) * 1e6:.1f} us, "
          f"min {min(periods) * 1000:.3f} ms, max {max(periods) * 1000:.3f} ms")
    print(f"drift at the end  {drift * 1e6:+.1f} us after {len(periods)} periods")
    print(f"late restarts     {pacer.restarts}")
    print(f"CPU use           {cpu:.2f} s in {wall:.2f} s wall = "
          f"{100 * cpu / wall:.1f} % of one core (user + system)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
