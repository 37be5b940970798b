"""gbemu: a Game Boy emulator whose core is compiled with numba.

Importing the package is cheap: it only points numba's cache at the right
directory. ``gbemu.GameBoy`` imports the machine (and numba) on first use, so
the command line answers ``--help`` without loading the compiler.
"""

from gbemu import _cache

# First, before anything imports numba: numba reads NUMBA_CACHE_DIR once.
CACHE_DIR = _cache.configure()

__version__ = "0.1.0"

__all__ = ["GameBoy", "CACHE_DIR", "__version__"]


def __getattr__(name):
    """Module attributes loaded on first use (PEP 562): ``GameBoy`` brings in numba."""
    if name == "GameBoy":
        from gbemu.machine import GameBoy
        globals()["GameBoy"] = GameBoy      # later look-ups skip this function
        return GameBoy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
