"""gbemu: a Game Boy emulator whose core is compiled with numba."""

from gbemu import _cache

CACHE_DIR = _cache.configure()

__version__ = "0.1.0"

from gbemu.machine import GameBoy  # noqa: E402  (numba must see NUMBA_CACHE_DIR first)

__all__ = ["GameBoy", "CACHE_DIR", "__version__"]
