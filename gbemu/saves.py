"""Battery saves: a cartridge's battery-backed RAM and clock kept in a file.

A cartridge with a battery keeps its RAM (and an MBC3 its real-time clock)
while the Game Boy is off; gbemu keeps them in ``game.sav`` beside
``game.gb`` (or in a chosen folder). The file holds the RAM as-is; for an
MBC3 with a clock, a 48-byte footer follows in the layout BGB and VBA-M
use, so saves move between emulators:

    5 x uint32 LE   the clock counters S, M, H, DL, DH as they stood at the stamp
    5 x uint32 LE   the latched copies the game reads
    1 x uint64 LE   the stamp: UNIX time in seconds

(some emulators write a 32-bit stamp, a 44-byte footer; it loads too). On
load the clock runs on through the time gbemu was closed.

``SaveManager`` is the one object a frontend needs: ``load()`` at start,
``poll(now)`` between frames (it writes about a second after the game
changes the RAM), ``close()`` on the way out, whatever ends the session.

Every write is atomic: the data goes to a temporary file in the same
folder, is flushed to disk, and then replaces the save in one step, so a
crash or power cut at any moment leaves the previous save or the new one,
whole. A save file that does not fit the cartridge (wrong size, unreadable)
is never overwritten: it is moved aside to ``game.sav.bak-YYYYmmdd-HHMMSS``
(a name not taken yet) and the game starts with what could be loaded from it;
in strict mode the session refuses to start instead. Nothing here prints:
problems come back as one-line messages naming the file.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import time
from pathlib import Path

SAVE_SUFFIX = ".sav"
STATE_SUFFIX = ".state"            # save states: game.state1, game.state2...
SAVE_DELAY = 1.0                 # seconds from the first unsaved change to its write
RTC_FOOTER = struct.Struct("<10IQ")
RTC_FOOTER_32 = struct.Struct("<11I")
RTC_FOOTER_SIZES = (RTC_FOOTER.size, RTC_FOOTER_32.size)    # 48 and 44 bytes
STALE_TEMP_SECONDS = 600         # a temporary file this old is left over from a crash

__all__ = [
    "SaveManager", "SaveError", "save_path", "state_path", "atomic_write", "keep_backup",
    "pack_rtc_footer", "unpack_rtc_footer", "RTC_FOOTER_SIZES", "SAVE_DELAY",
]


class SaveError(Exception):
    """A save that cannot be loaded or written; ``str()`` is one line naming the file."""


# -- the clock footer --------------------------------------------------------------

def pack_rtc_footer(current, latched, stamp: int) -> bytes:
    """The 48-byte clock footer: 5 counters, 5 latched copies, a 64-bit UNIX time."""
    return RTC_FOOTER.pack(*current, *latched, max(int(stamp), 0))


def unpack_rtc_footer(footer: bytes):
    """(current counters, latched copies, UNIX time) from a 48- or 44-byte footer."""
    layout = RTC_FOOTER if len(footer) == RTC_FOOTER.size else RTC_FOOTER_32
    values = layout.unpack(footer)
    return list(values[:5]), list(values[5:10]), values[10]


# -- files -------------------------------------------------------------------------

def save_path(rom_path, save_dir=None) -> Path:
    """Where a ROM's save lives: ``game.sav`` beside ``game.gb``, or in ``save_dir``."""
    rom = Path(rom_path)
    name = rom.stem + SAVE_SUFFIX
    if save_dir is not None:
        return Path(save_dir) / name
    return rom.with_name(name)


def state_path(rom_path, slot: int, save_dir=None) -> Path:
    """Where save state ``slot`` of a ROM lives: ``game.state1`` beside its save."""
    return save_path(rom_path, save_dir).with_suffix(f"{STATE_SUFFIX}{slot}")


def _new_file_mode(existing: Path) -> int:
    """Keep an existing save's permissions; a new one gets the usual rw-r--r-- less umask."""
    try:
        return existing.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path, data: bytes):
    """Replace ``path`` with ``data`` so that any crash leaves the old or the new file whole.

    The data goes to a temporary file in the same folder (created if missing),
    is flushed and fsynced, then os.replace swaps it in and the folder is
    fsynced. A symbolic link is followed: its target is replaced.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    mode = _new_file_mode(target)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path):
    """Make a rename in ``folder`` durable (POSIX; elsewhere a no-op)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def keep_backup(path, now: float | None = None, *, move: bool = True) -> Path:
    """Move ``path`` aside to ``NAME.bak-YYYYmmdd-HHMMSS`` (``-2``, ``-3``... if taken);
    with ``move=False``, leave ``path`` where it is and keep a copy under that name.

    An existing file is never overwritten: a regular file is hard-linked to the
    new name (which fails if the name exists) before the old name is removed.
    (A kept link is a copy for our purposes: atomic_write replaces the name
    with a new file and never writes into the old one.) Returns the backup's
    path; raises OSError when the file cannot be moved or copied.
    """
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    for attempt in range(1, 1000):
        suffix = "" if attempt == 1 else f"-{attempt}"
        backup = path.with_name(f"{path.name}.bak-{stamp}{suffix}")
        if os.path.lexists(backup):
            continue
        if path.is_file() and not path.is_symlink():
            try:
                os.link(path, backup)
            except FileExistsError:
                continue
            except OSError:
                pass             # no hard links here (some file systems): below
            else:
                if move:
                    os.unlink(path)
                return backup
        if move:
            os.rename(path, backup)
        else:
            _copy_new(path, backup)
        return backup
    raise FileExistsError(f"no free backup name for {path}")


def _copy_new(source: Path, target: Path):
    """Copy ``source`` to ``target``, which must not exist yet."""
    data = source.read_bytes()
    with open(target, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _remove_stale_temps(path: Path):
    """Delete temporary files a crashed session left beside the save."""
    now = time.time()
    with contextlib.suppress(OSError):
        for temp in path.parent.glob(f".{path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                if now - temp.stat().st_mtime > STALE_TEMP_SECONDS:
                    temp.unlink()


def _describe(error: OSError) -> str:
    return error.strerror or str(error)


# -- the manager -------------------------------------------------------------------

class SaveManager:
    """Keeps one cartridge's battery-backed memory in its save file.

    ``gb`` is a GameBoy; nothing happens for a cartridge without a battery
    (``active`` is False). Call ``load()`` before running, ``poll(now)``
    between frames with a monotonic time in seconds, and ``close()`` once at
    the end. Writes that fail raise SaveError and are tried again later.
    """

    def __init__(self, gb, rom_path, *, save_dir=None, strict: bool = False,
                 delay: float = SAVE_DELAY):
        self.gb = gb
        self.path = save_path(rom_path, save_dir)
        self.strict = strict
        self.delay = delay
        self.active = bool(gb.has_battery)
        self.pending_since = None       # monotonic time of the oldest unsaved change
        self.writes = 0
        self.last_error = None          # the message of the last failed write
        self.keep_before_write = False  # the RAM went back in time: keep the file once
        self.kept: list[Path] = []      # copies made for that reason

    def load(self, now: float | None = None) -> list:
        """Load the save, if there is one; returns one-line warnings naming the file.

        A file that does not fit is moved to a backup name and what could be
        read of it is loaded; with ``strict`` SaveError is raised instead and
        nothing is touched. ``now`` is the UNIX time the clock runs on to.
        """
        if not self.active:
            return []
        _remove_stale_temps(self.path)
        try:
            data = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return []               # no save yet (or not even its folder): nothing to lose
        except OSError as error:
            data, problem = None, f"cannot read the save ({_describe(error)})"
        else:
            if len(data) in self.gb.save_sizes:
                self.gb.load_ram(data, now)
                self.gb.take_save_changes()
                return []
            sizes = " or ".join(str(size) for size in self.gb.save_sizes)
            problem = (f"the save has {len(data)} bytes, this cartridge's has {sizes}")
        if self.strict:
            raise SaveError(f"{self.path}: {problem}; not starting (--strict-saves), "
                            "the file is untouched")
        try:
            backup = keep_backup(self.path)
        except OSError as error:
            self.active = False
            return [f"{self.path}: {problem}; it could not be moved aside "
                    f"({_describe(error)}), so saving is off for this session"]
        loaded = "an empty save"
        if data:
            count = min(len(data), len(self.gb.cart_ram))
            self.gb.cart_ram[:count] = list(data[:count])
            self.gb.take_save_changes()
            loaded = f"its first {count} bytes"
        return [f"{self.path}: {problem}; kept it as {backup.name} and started with {loaded}"]

    def poll(self, now: float) -> bool:
        """Between frames: write the save once its oldest unsaved change is ``delay`` old.

        ``now`` is a monotonic time in seconds. A game writing continuously is
        saved about once per ``delay``; a burst of writes about ``delay`` after
        it began. Returns whether it wrote. A failed write is tried again after
        another ``delay``; SaveError is raised when a write fails differently
        from the previous attempt, so a frontend reports each problem once.
        """
        if not self.active:
            return False
        if self.gb.take_save_changes() and self.pending_since is None:
            self.pending_since = now
        if self.pending_since is None or now - self.pending_since < self.delay:
            return False
        try:
            self.write()
        except SaveError as error:
            self.pending_since = now
            if str(error) != self.last_error:
                self.last_error = str(error)
                raise
            return False
        return True

    def close(self) -> bool:
        """The end of a session: write what has not been saved yet. Returns whether it wrote.

        A cartridge with a clock is always written, so the clock's time is
        stamped as the session leaves it.
        """
        if not self.active:
            return False
        changed = self.gb.take_save_changes() or self.pending_since is not None
        if not (changed or self.gb.header.has_rtc):
            return False
        self.write()
        return True

    def reverted(self):
        """The battery RAM was just put back to an earlier time (a save state or rewind).

        The save file may hold a newer game save that the player would lose, so
        before it is next written it is kept as a dated backup; the restored RAM
        counts as a change to be saved.
        """
        if not self.active:
            return
        self.keep_before_write = True
        self.gb.state[0]["eram_dirty"] = 1

    def write(self):
        """Write the save now (atomically); raises SaveError when it cannot."""
        data = self.gb.save_ram(time.time())
        try:
            if self.keep_before_write and self.path.is_file():
                self.kept.append(keep_backup(self.path, move=False))
            self.keep_before_write = False
            atomic_write(self.path, data)
        except OSError as error:
            raise SaveError(f"{self.path}: cannot write the save ({_describe(error)})") from None
        self.pending_since = None
        self.last_error = None
        self.writes += 1
