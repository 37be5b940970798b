"""What the benchmark scripts share: the ROM arguments, importing gbemu and PyBoy,
booting PyBoy to $0100 and describing the machine a run was measured on.

The scripts run from the repository root (``python benchmarks/bench_pyboy.py``); each
puts its own folder on ``sys.path`` before importing this module.
"""

from __future__ import annotations

import io
import os
import platform
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CLOCK_HZ = 4_194_304
FRAME_CYCLES = 70_224
BOOT_FRAME_LIMIT = 60 * 60     # a boot ROM still running after 60 s has gone wrong


def default_rom_root() -> Path:
    env = os.environ.get("GBEMU_TEST_ROMS")
    if env:
        return Path(env)
    return (REPO_ROOT.parent / "shared" / "roms").resolve()


def add_rom_arguments(parser, defaults) -> None:
    """The positional ROM paths and --rom-root."""
    parser.add_argument("roms", nargs="*", metavar="ROM",
                        help="ROM paths, absolute or relative to --rom-root "
                             f"(default: {', '.join(defaults)})")
    parser.add_argument("--rom-root", type=Path, default=None,
                        help="folder the ROM paths are relative to "
                             "(default: $GBEMU_TEST_ROMS, else ../shared/roms)")


def find_roms(names, root: Path) -> list[tuple[str, Path]]:
    """(name, path) of each ROM found; a missing one is reported on stderr and skipped."""
    roms = []
    for name in names:
        path = Path(name) if Path(name).is_absolute() else root / name
        if path.is_file():
            roms.append((name, path))
        else:
            print(f"skipping {name}: {path} not found", file=sys.stderr)
    return roms


def import_pyboy():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pysdl2-dll announces itself with a warning
            from pyboy import PyBoy
    except ImportError:
        print("PyBoy is not installed. Install the benchmark extra from the repository root:\n"
              "    pip install -e '.[bench]'", file=sys.stderr)
        sys.exit(2)
    return PyBoy


def import_gbemu():
    try:
        import gbemu
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))  # running from a checkout without installing
        import gbemu
    return gbemu


def boot_pyboy(PyBoy, rom_bytes: bytes, sound: bool = False):
    """A PyBoy (window "null", DMG mode) that has just left its boot ROM at $0100, and the
    frames that took. The ROM goes in as bytes, so no .ram file is read or written."""
    pb = PyBoy(io.BytesIO(rom_bytes), window="null", sound_emulated=sound, cgb=False,
               log_level="ERROR")
    pb.set_emulation_speed(0)
    reached = []
    pb.hook_register(0, 0x100, reached.append, True)
    frames = 0
    while not reached:
        pb.tick(1, False, sound)
        frames += 1
        if frames > BOOT_FRAME_LIMIT:
            raise RuntimeError("PyBoy's boot ROM did not reach $0100 within 60 s")
    pb.hook_deregister(0, 0x100)
    return pb, frames


def environment(gbemu) -> list[str]:
    """Lines naming the machine, the load and the versions a run was measured with."""
    def version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    def git(*words):
        try:
            return subprocess.run(["git", "-C", str(REPO_ROOT), *words], capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    if commit and git("status", "--porcelain", "--", "gbemu/core"):
        commit += ", gbemu/core has uncommitted changes"
    gbemu_version = gbemu.__version__ + (f" (git {commit})" if commit else "")
    import numba
    import numpy
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except (AttributeError, OSError):
        load = "load average unknown"
    return [
        f"CPUs: {os.cpu_count()} ({cpu}), {platform.system()} {platform.release()}",
        f"{load} at the end of the run",
        f"Python {platform.python_version()}, numba {numba.__version__}, "
        f"numpy {numpy.__version__}, pyboy {version('pyboy')}",
        f"gbemu {gbemu_version}",
    ]
