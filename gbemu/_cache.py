"""Where numba keeps compiled machine code, decided before numba is imported.

numba's on-disk cache is keyed on each function's own source file, so editing
one core module can leave stale code for its callers, and it fails outright
when the package is installed read-only. gbemu therefore points
NUMBA_CACHE_DIR at a per-user directory named after a hash of every core
source file: any edit gets a fresh cache. numba also keys its cache on where a
source file lives, so the hash covers the folder too: another copy of the same
sources (a second checkout, a wheel beside an editable install) gets a cache
of its own, and is_cold() tells truly when a compile is coming.
"""

import hashlib
import os
import sys
import tempfile
from pathlib import Path

CORE_DIR = Path(__file__).resolve().parent / "core"


def core_hash():
    digest = hashlib.sha256(str(CORE_DIR).encode())
    for path in sorted(CORE_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def user_cache_base():
    if os.environ.get("GBEMU_CACHE_DIR"):
        return Path(os.environ["GBEMU_CACHE_DIR"])
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "gbemu" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "gbemu"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gbemu"


def configure():
    """Set NUMBA_CACHE_DIR (unless the user did) and return it."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    # numba's cache does not notice NUMBA_BOUNDSCHECK, so it gets its own directory.
    flavour = "-boundscheck" if os.environ.get("NUMBA_BOUNDSCHECK") == "1" else ""
    cache = user_cache_base() / f"numba-{core_hash()}{flavour}"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / ".writable"
        probe.touch()
    except OSError:
        cache = Path(tempfile.gettempdir()) / f"gbemu-numba-{core_hash()}"
        cache.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(cache)
    return cache


def is_cold(cache):
    """True when nothing has been compiled into this cache yet."""
    return not any(cache.rglob("*.nbi"))
