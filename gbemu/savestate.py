"""Save states: the whole machine, packed to come back to later.

A state is the machine record (gbemu/core/state.py) from its start to the end
of the cartridge RAM in use: registers, I/O, memory, every unit's counters and
the frame on screen. The ROM, the audio ring and the debugger's marks lie after
that and are not saved; they belong to the session. The packed form is

    magic      b"gbemu state\\n"
    header     uint32 format version, 16-byte digest of the record's layout,
               32-byte SHA-256 of the ROM, 16-byte cartridge title, uint64 length
    body       the record's bytes, zlib-compressed

so a state loads only into the same cartridge and the same record layout; any
other file is refused with a message that says which it is.

What the session chose stays as it is across a load: whether frames are
drawn, sound is mixed, units are synced eagerly, and which events stop a run.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

import numpy as np

from gbemu.core.state import STATE
from gbemu.machine import CLOCK_HZ, FRAME_CYCLES

MAGIC = b"gbemu state\n"
VERSION = 1
HEADER = struct.Struct("<I16s32s16sQ")
ERAM_AT = STATE.fields["eram"][1]
# The session's own settings inside the saved stretch, kept through a load.
SESSION_FIELDS = ("eager", "event_mask", "render", "audio_enabled", "break_on_ld_b_b",
                  "flat_bus")
COMPRESSION = 6                  # zlib level: a state packs in about a millisecond
FRAME_RATE = CLOCK_HZ / FRAME_CYCLES

__all__ = ["StateError", "Rewind", "pack", "unpack", "restore", "saved_size", "layout_digest"]


class StateError(ValueError):
    """A save state that cannot be loaded; ``str()`` is one line naming its source."""

    def __init__(self, source, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = str(source)
        self.reason = reason


def layout_digest() -> bytes:
    """16 bytes that change whenever the record's fields, types or offsets change."""
    return hashlib.sha256(repr(STATE.descr).encode() + str(STATE.itemsize).encode()
                          ).digest()[:16]


def saved_size(gb) -> int:
    """Bytes of the record a state (or a rewind snapshot) holds for this cartridge."""
    return ERAM_AT + int(gb.state[0]["ram_size"])


def rom_digest(rom: bytes) -> bytes:
    return hashlib.sha256(rom).digest()


def pack(gb) -> bytes:
    """The state of ``gb`` (a gbemu.machine.GameBoy) as bytes."""
    gb.sync()
    size = saved_size(gb)
    body = gb.state.view(np.uint8)[:size].tobytes()
    title = gb.header.title.encode("ascii", "replace")[:16]
    header = HEADER.pack(VERSION, layout_digest(), rom_digest(gb.rom), title, size)
    return MAGIC + header + zlib.compress(body, COMPRESSION)


def unpack(gb, data: bytes, source="<state>"):
    """Load a state made by pack() into ``gb``; raises StateError, leaving ``gb`` as it
    was, when ``data`` is not a state of this cartridge in this record layout."""
    data = bytes(data)
    if not data.startswith(MAGIC):
        raise StateError(source, "not a gbemu save state")
    if len(data) < len(MAGIC) + HEADER.size:
        raise StateError(source, "damaged save state (cut short)")
    version, layout, rom, title, size = HEADER.unpack_from(data, len(MAGIC))
    if version != VERSION or layout != layout_digest():
        raise StateError(source, "saved by another version of gbemu, whose machine "
                                 "layout differs; it cannot be loaded")
    if rom != rom_digest(gb.rom):
        name = title.rstrip(b"\0").decode("ascii", "replace").strip() or "another cartridge"
        raise StateError(source, f"a state of {name!r}, not of this cartridge")
    if size != saved_size(gb):
        raise StateError(source, "damaged save state (wrong length)")
    try:
        body = zlib.decompress(data[len(MAGIC) + HEADER.size:])
    except zlib.error as error:
        raise StateError(source, f"damaged save state ({error})") from None
    if len(body) != size:
        raise StateError(source, "damaged save state (wrong length)")
    restore(gb, np.frombuffer(body, np.uint8))


def restore(gb, saved: np.ndarray):
    """Put ``saved`` (the record's first saved_size() bytes) back into ``gb``, keeping
    the session's settings; with sound on, samples not yet read are dropped."""
    s = gb.state[0]
    kept = {name: s[name].copy() for name in SESSION_FIELDS}
    gb.state.view(np.uint8)[:len(saved)] = saved
    for name, value in kept.items():
        s[name] = value
    if s["audio_enabled"]:
        gb.restart_samples()    # the APU catches up silently: nothing of the past plays


class Rewind:
    """The last ``seconds`` of play as snapshots, one every ``every`` frames, for
    going back in time while playing.

    ``record()`` after each frame keeps a snapshot when one is due (a copy of
    saved_size() bytes into a ring allocated once); ``step_back()`` returns
    the machine to the newest snapshot and forgets it, so holding it walks
    back through the recorded stretch.
    """

    def __init__(self, gb, seconds: float, every: int = 4):
        self.gb = gb
        self.every = max(1, int(every))
        self.size = saved_size(gb)
        count = max(1, round(seconds * FRAME_RATE / self.every))
        self.ring = np.empty((count, self.size), np.uint8)
        self.newest = -1         # index of the newest snapshot
        self.length = 0          # snapshots held
        self.frames = 0          # frames recorded since the last snapshot

    @property
    def seconds_held(self) -> float:
        return self.length * self.every / FRAME_RATE

    def record(self):
        self.frames += 1
        if self.frames < self.every:
            return
        self.frames = 0
        self.newest = (self.newest + 1) % len(self.ring)
        np.copyto(self.ring[self.newest], self.gb.state.view(np.uint8)[:self.size])
        self.length = min(self.length + 1, len(self.ring))

    def step_back(self) -> bool:
        """Go back to the newest snapshot (then forget it); False when none is left."""
        if self.length == 0:
            return False
        restore(self.gb, self.ring[self.newest])
        self.newest = (self.newest - 1) % len(self.ring)
        self.length -= 1
        self.frames = 0
        return True

    def clear(self):
        """Forget every snapshot (after a jump elsewhere in time, such as a state load)."""
        self.length = 0
        self.newest = -1
        self.frames = 0
