"""The Python face of the emulator: a GameBoy wraps one machine record.

Scripts, bots, the test runner and the frontend drive the machine through
this class: load a cartridge, run for a number of cycles or frames or until
an event, press buttons, read registers, memory, serial output and the
screen (a numpy array), save and restore state.
"""

from __future__ import annotations

import time

import numpy as np

from gbemu import hwio_names
from gbemu.cartridge import Header, load_rom, parse_header, RomError, NINTENDO_LOGO
from gbemu.core import hwio
from gbemu.core.state import new_state, AUDIO_BUFFER_FRAMES, STATE, ROM_MAX
from gbemu.core.cpu import (
    run, run_instructions, sync_all, peek_byte, reset_cartridge, NO_STEP_LIMIT,
)
from gbemu.core.ppu import MODE_VBLANK
from gbemu.core.apu import AUDIO_RATE
from gbemu.saves import pack_rtc_footer, unpack_rtc_footer, RTC_FOOTER_SIZES

CLOCK_HZ = 4_194_304
FRAME_CYCLES = 70_224

SUPPORTED_MAPPERS = {
    "none": hwio.MBC_NONE, "mbc1": hwio.MBC_1, "mbc2": hwio.MBC_2, "mbc3": hwio.MBC_3,
    "mbc5": hwio.MBC_5,
}
MBC2_RAM_SIZE = 512              # half-byte cells inside the MBC2, one per byte of eram
MBC1M_ROM_SIZE = 1 << 20         # an MBC1 multicart is 1 MiB: four 256 KiB games
MBC1M_SECOND_GAME = 0x10 * 0x4000
RTC_MASKS = (0x3F, 0x3F, 0x1F, 0xFF, 0xC1)   # MBC3 clock registers S M H DL DH
RTC_HALT = 0x40
MAX_OFFLINE_SECONDS = 1 << 36    # a clock footer from further back is taken as this old

BUTTONS = ("right", "left", "up", "down", "a", "b", "select", "start")

AUDIO_QUEUE_SECONDS = 60         # samples kept for read_samples() when nobody reads them

# I/O after the DMG boot ROM hands over at $0100 (Pan Docs, "Power Up Sequence").
DMG_IO_AFTER_BOOT = {
    hwio.P1: 0xCF, hwio.SB: 0x00, hwio.SC: 0x7E, hwio.TIMA: 0x00, hwio.TMA: 0x00,
    hwio.TAC: 0xF8, hwio.IF: 0xE1,
    hwio.NR10: 0x80, hwio.NR11: 0xBF, hwio.NR12: 0xF3, hwio.NR13: 0xFF, hwio.NR14: 0xBF,
    hwio.NR21: 0x3F, hwio.NR22: 0x00, hwio.NR23: 0xFF, hwio.NR24: 0xBF,
    hwio.NR30: 0x7F, hwio.NR31: 0xFF, hwio.NR32: 0x9F, hwio.NR33: 0xFF, hwio.NR34: 0xBF,
    hwio.NR41: 0xFF, hwio.NR42: 0x00, hwio.NR43: 0x00, hwio.NR44: 0xBF,
    hwio.NR50: 0x77, hwio.NR51: 0xF3, hwio.NR52: 0xF1,
    hwio.LCDC: 0x91, hwio.STAT: 0x85, hwio.SCY: 0x00, hwio.SCX: 0x00, hwio.LY: 0x00,
    hwio.LYC: 0x00, hwio.DMA: 0xFF, hwio.BGP: 0xFC, hwio.OBP0: 0xFF, hwio.OBP1: 0xFF,
    hwio.WY: 0x00, hwio.WX: 0x00,
}
# The system counter at $0100 on DMG ABC: DIV reads $AB.
DMG_COUNTER_AFTER_BOOT = 0xABC8


class GameBoy:
    """One emulated DMG. ``GameBoy.from_file(path)`` or ``GameBoy(rom_bytes)``."""

    def __init__(self, rom: bytes, *, boot_rom: bytes | None = None, eager: bool = False,
                 path: str = "<rom>"):
        self.header: Header = parse_header(rom, path)
        if self.header.mapper not in SUPPORTED_MAPPERS:
            raise RomError(path, f"unsupported cartridge type ${self.header.cart_type:02X} "
                                 f"({self.header.cart_type_name})")
        if len(rom) > ROM_MAX:
            raise RomError(path, f"ROM of {len(rom)} bytes is larger than 8 MiB")
        self.path = path
        self.rom = bytes(rom)
        self.boot_rom = boot_rom
        self.state = new_state()
        self._audio_wanted = False
        self._audio_spill: list[np.ndarray] = []
        self.reset(eager=eager)

    @classmethod
    def from_file(cls, path, *, boot_rom_path=None, eager=False) -> "GameBoy":
        rom, _header, warnings = load_rom(path, tuple(SUPPORTED_MAPPERS))
        boot = None
        if boot_rom_path is not None:
            boot = read_boot_rom(boot_rom_path)
        gb = cls(rom, boot_rom=boot, eager=eager, path=str(path))
        gb.warnings = warnings
        return gb

    warnings: list = []

    # -- power on ------------------------------------------------------------

    def reset(self, *, eager: bool = False):
        """Power on: into the user's boot ROM, or straight to $0100 as the DMG boot ROM
        leaves it."""
        kept = self._battery_memory()
        self.state[0] = np.zeros((), STATE)
        s = self.state[0]
        rom = np.frombuffer(self.rom, np.uint8)
        s["rom"][: len(rom)] = rom
        size = max(self.header.rom_size, 0x8000)
        s["rom_size"] = size
        if len(rom) < size:
            # A short image repeats, as the unconnected address lines would make it.
            reps = -(-size // len(rom))
            s["rom"][:size] = np.tile(rom, reps)[:size]
        self._setup_cartridge(kept)
        s["eager"] = 1 if eager else 0
        s["event_mask"] = hwio.EV_BREAKPOINT | hwio.EV_ILLEGAL
        s["render"] = 1
        s["audio_enabled"] = 1 if self._audio_wanted else 0
        self._audio_spill = []
        s["io_unused"][:] = io_unused_bits()
        reset_cartridge(self.state)
        if self.boot_rom is not None:
            s["boot"][:] = np.frombuffer(self.boot_rom, np.uint8)
            s["boot_mapped"] = 1
            s["io"][hwio.LCDC - hwio.IO_BASE] = 0
            s["io"][hwio.IF - hwio.IO_BASE] = 0xE1 & 0x1F
            s["io_unused"][hwio.BOOT - hwio.IO_BASE] = 0xFE
            return
        self._skip_boot()

    def _skip_boot(self):
        s = self.state[0]
        checksum_nonzero = self.header.header_checksum != 0
        s["r8"][:] = [0x00, 0x13, 0x00, 0xD8, 0x01, 0x4D,
                      0xB0 if checksum_nonzero else 0x80, 0x01]
        s["sp"] = 0xFFFE
        s["pc"] = 0x0100
        for addr, value in DMG_IO_AFTER_BOOT.items():
            s["io"][addr - hwio.IO_BASE] = value
        s["io"][hwio.IF - hwio.IO_BASE] &= 0x1F
        s["io"][hwio.TAC - hwio.IO_BASE] = 0xF8
        s["io"][hwio.SC - hwio.IO_BASE] = 0x7E
        s["sys_counter"] = DMG_COUNTER_AFTER_BOOT
        # The boot ROM hands over during the last VBlank line, LY already reading 0.
        s["ppu_line"] = 153
        s["ppu_mode"] = MODE_VBLANK
        s["ppu_dot"] = 400
        s["stat_line"] = 1
        s["io"][hwio.BOOT - hwio.IO_BASE] = 1
        # The boot chime leaves channel 1 on, its envelope run down to volume 0,
        # its length counter loaded from NR11 = $80 (64).
        s["ch_on"][0] = 1
        s["ch_length"][0] = 64
        freq = ((DMG_IO_AFTER_BOOT[hwio.NR14] & 7) << 8) | DMG_IO_AFTER_BOOT[hwio.NR13]
        s["ch_next"][0] = 4 * (2048 - freq)      # the pulse timer's period

    # -- running ---------------------------------------------------------------

    @property
    def clock(self) -> int:
        """T-cycles since power on."""
        return int(self.state["clock"][0])

    def run_cycles(self, cycles: int) -> int:
        """Run for about ``cycles`` T-cycles or until a masked event; returns the events."""
        return self.run_until(self.clock + int(cycles))

    def run_until(self, clock: int) -> int:
        """Run until the clock reaches ``clock`` or a masked event; returns the events.

        With audio on, the APU's ring is emptied into a Python-side queue
        whenever it is nearly full (EV_AUDIO), and the run goes on.
        """
        st = self.state              # st["field"][0]: a third of st[0]["field"]'s cost
        user_mask = int(st["event_mask"][0])
        if not st["audio_enabled"][0] or user_mask & hwio.EV_AUDIO:
            return int(run(st, int(clock), NO_STEP_LIMIT))
        st["event_mask"][0] = user_mask | hwio.EV_AUDIO
        seen = 0       # events of the runs cut short by a full audio ring
        try:
            while True:
                events = seen | int(run(st, int(clock), NO_STEP_LIMIT))
                if not events & hwio.EV_AUDIO:
                    return events
                self._spill_samples()
                events &= ~hwio.EV_AUDIO
                if events & user_mask or self.clock >= clock:
                    return events
                seen = events
        finally:
            st["event_mask"][0] = user_mask

    def run_frames(self, frames: int = 1) -> int:
        events = 0
        mask = self.event_mask
        for _ in range(frames):
            events |= self.run_cycles(FRAME_CYCLES)
            if events & mask:
                break
        return events

    def step(self, count: int = 1) -> int:
        """Execute ``count`` instructions (an interrupt dispatch counts as one)."""
        return int(run_instructions(self.state, int(count)))

    def sync(self):
        """Bring timer and PPU up to the CPU's clock, so their registers are current."""
        sync_all(self.state)

    @property
    def event_mask(self) -> int:
        return int(self.state["event_mask"][0])

    @event_mask.setter
    def event_mask(self, mask: int):
        self.state[0]["event_mask"] = mask

    @property
    def render(self) -> bool:
        """Whether the PPU draws pixels (off: timing only, for speed)."""
        return bool(self.state[0]["render"])

    @render.setter
    def render(self, on: bool):
        self.state[0]["render"] = 1 if on else 0

    @property
    def break_on_ld_b_b(self) -> bool:
        return bool(self.state[0]["break_on_ld_b_b"])

    @break_on_ld_b_b.setter
    def break_on_ld_b_b(self, on: bool):
        self.state[0]["break_on_ld_b_b"] = 1 if on else 0

    # -- looking inside ------------------------------------------------------

    @property
    def registers(self) -> dict:
        s = self.state[0]
        names = ("B", "C", "D", "E", "H", "L", "F", "A")
        regs = {name: int(s["r8"][i]) for i, name in enumerate(names)}
        regs["SP"] = int(s["sp"])
        regs["PC"] = int(s["pc"])
        regs["IME"] = int(s["ime"])
        return regs

    def read_io(self, addr: int) -> int:
        """An I/O register as the CPU would read it now."""
        self.sync()
        return int(peek_byte(self.state, addr))

    def peek(self, addr: int) -> int:
        """The byte at addr as the CPU would read it, without time passing."""
        return self.read_io(addr)

    @property
    def serial_output(self) -> bytes:
        s = self.state[0]
        n = int(s["serial_len"])
        log = s["serial_log"]
        if n <= len(log):
            return bytes(log[:n])
        start = n % len(log)
        return bytes(np.concatenate([log[start:], log[:start]]))

    @property
    def serial_length(self) -> int:
        """Bytes sent on the link port since power on (serial_output keeps the last 8 KiB)."""
        return int(self.state[0]["serial_len"])

    @property
    def locked(self) -> bool:
        """True once an unused opcode has hung the CPU (only a reset recovers)."""
        return bool(self.state[0]["locked"])

    @property
    def last_opcode(self) -> int:
        """The opcode of the last instruction executed (the unused one after a lock-up)."""
        return int(self.state[0]["opcode"])

    @property
    def cart_ram(self) -> np.ndarray:
        s = self.state[0]
        return s["eram"][: int(s["ram_size"])]

    @property
    def screen(self) -> np.ndarray:
        """The last frame as shade indices 0-3, shape (144, 160)."""
        return self.state[0]["fb"]

    @property
    def frames(self) -> int:
        return int(self.state["frames"][0])

    # -- input -------------------------------------------------------------

    def set_buttons(self, pressed):
        """Set the pressed buttons (names from BUTTONS); a newly pressed line requests the
        joypad interrupt."""
        mask = 0
        for name in pressed:
            mask |= 1 << BUTTONS.index(name)
        s = self.state[0]
        before = self.read_io(hwio.P1) & 0x0F
        s["buttons"] = mask
        after = self.read_io(hwio.P1) & 0x0F
        if before & ~after:
            s["io"][hwio.IF - hwio.IO_BASE] |= hwio.INT_JOYPAD

    # -- cartridge -----------------------------------------------------------

    def _setup_cartridge(self, kept):
        """Tell the core which controller and extras the cartridge has; restore ``kept``."""
        s = self.state[0]
        header = self.header
        s["mbc"] = SUPPORTED_MAPPERS[header.mapper]
        if header.mapper == "mbc2":
            s["ram_size"] = MBC2_RAM_SIZE
        else:
            s["ram_size"] = header.ram_size if header.has_ram else 0
        s["has_rtc"] = header.has_rtc
        s["has_rumble"] = header.has_rumble
        s["mbc1_multicart"] = is_mbc1_multicart(self.rom, header)
        if kept is not None:
            for name in ("eram", "rtc", "rtc_latched", "rtc_cycles"):
                s[name] = kept[name]
            s["rtc_clock"] = s["clock"] - kept["rtc_behind"]

    def _battery_memory(self):
        """What a battery keeps through a power cycle (RAM and clock), or None."""
        if not self.header.has_battery:
            return None
        s = self.state[0]
        kept = {name: s[name].copy() for name in ("eram", "rtc", "rtc_latched", "rtc_cycles")}
        kept["rtc_behind"] = int(s["clock"]) - int(s["rtc_clock"])
        return kept

    @property
    def has_battery(self) -> bool:
        """The cartridge keeps RAM or a clock while switched off: it has a save file."""
        return self.header.has_battery and (len(self.cart_ram) > 0 or self.header.has_rtc)

    @property
    def save_sizes(self) -> tuple:
        """The save file sizes load_ram accepts: the RAM, and RAM plus a clock footer."""
        ram = len(self.cart_ram)
        if self.header.has_rtc:
            return (ram,) + tuple(ram + size for size in RTC_FOOTER_SIZES)
        return (ram,)

    def take_save_changes(self) -> bool:
        """Whether the game changed battery-backed memory since the last call (clears it)."""
        s = self.state[0]
        changed = bool(s["eram_dirty"])
        s["eram_dirty"] = 0
        return changed

    @property
    def rumble(self) -> bool:
        """The rumble motor is on; run() raises EV_RUMBLE whenever it switches."""
        return bool(self.state[0]["rumble"])

    def save_ram(self, now: float | None = None) -> bytes:
        """The battery-backed memory as a save file holds it.

        The RAM, then for an MBC3 with a clock the 48-byte clock footer
        (gbemu.saves) stamped with UNIX time ``now`` (default: the time now).
        The clock registers are stored as they stood at the stamped time.
        """
        s = self.state[0]
        data = bytes(self.cart_ram)
        if not self.header.has_rtc:
            return data
        now = time.time() if now is None else float(now)
        stamp = now
        if not s["rtc"][4] & RTC_HALT:
            # The counters were last brought up to date this many seconds of
            # emulated time ago, plus the part of a second they had counted.
            behind = int(s["clock"]) - int(s["rtc_clock"]) + int(s["rtc_cycles"])
            stamp = now - behind / CLOCK_HZ
        return data + pack_rtc_footer([int(v) for v in s["rtc"]],
                                      [int(v) for v in s["rtc_latched"]], round(stamp))

    def load_ram(self, data: bytes, now: float | None = None):
        """Load battery-backed memory from a save file's contents (save_ram's layout).

        A clock footer's time passes: the clock runs on from its stamp to ``now``
        (UNIX time, default the time now) unless it was halted. Raises ValueError
        when the size is none of ``save_sizes``.
        """
        if len(data) not in self.save_sizes:
            sizes = " or ".join(str(size) for size in self.save_sizes)
            raise ValueError(f"{len(data)} bytes, expected {sizes}")
        s = self.state[0]
        ram = len(self.cart_ram)
        cells = np.frombuffer(bytes(data[:ram]), np.uint8)
        if self.header.mapper == "mbc2":
            cells = cells & 0x0F
        s["eram"][:ram] = cells
        if len(data) > ram:
            current, latched, stamp = unpack_rtc_footer(bytes(data[ram:]))
            s["rtc"][:] = [value & mask for value, mask in zip(current, RTC_MASKS)]
            s["rtc_latched"][:] = [value & mask for value, mask in zip(latched, RTC_MASKS)]
            now = time.time() if now is None else float(now)
            offline = min(max(int(now - stamp), 0), MAX_OFFLINE_SECONDS)
            s["rtc_cycles"] = 0
            s["rtc_clock"] = int(s["clock"]) - offline * CLOCK_HZ

    # -- sound -------------------------------------------------------------

    audio_rate = AUDIO_RATE
    """Samples per second of read_samples() (65,536: one per 64 T-cycles)."""

    @property
    def audio_enabled(self) -> bool:
        """Whether the APU mixes samples. Off (the default), registers and timing
        still run but nothing is mixed, which is faster."""
        return bool(self.state["audio_enabled"][0])

    @audio_enabled.setter
    def audio_enabled(self, on: bool):
        s = self.state[0]
        on = bool(on)
        if on == bool(s["audio_enabled"]):
            return
        if on:
            self.restart_samples()
        else:
            self.sync()
            self._spill_samples()
        s["audio_enabled"] = 1 if on else 0
        self._audio_wanted = on

    def read_samples(self) -> np.ndarray:
        """The samples mixed since the last call: int16, shape (n, 2), left and right,
        at ``audio_rate``. Empty while audio is off. The hardware's DC offset is
        still in them (gbemu.audio removes it, as the Game Boy's output capacitor does)."""
        if self.audio_enabled:
            self.sync()
            fresh = self._ring_samples()
            if not self._audio_spill:           # the usual case: read once per frame
                return fresh
            self._audio_spill.append(fresh)
        chunks, self._audio_spill = self._audio_spill, []
        if not chunks:
            return np.zeros((0, 2), np.int16)
        return np.concatenate(chunks)

    def _ring_samples(self) -> np.ndarray:
        """The APU ring's new samples (a copy), marked as read."""
        st = self.state
        written = int(st["audio_write"][0])
        start = max(int(st["audio_read"][0]), written - AUDIO_BUFFER_FRAMES)  # older: lost
        st["audio_read"][0] = written
        ring = st["audio_buf"][0]
        first, last = start % AUDIO_BUFFER_FRAMES, written % AUDIO_BUFFER_FRAMES
        if first < last or written == start:
            return ring[first:last].copy()
        return np.concatenate([ring[first:], ring[:last]])

    def _spill_samples(self):
        """Move the APU ring's new samples into the Python-side queue (the run loop
        does this when the ring is nearly full and nobody has read it)."""
        fresh = self._ring_samples()
        if len(fresh):
            self._audio_spill.append(fresh)
            limit = AUDIO_QUEUE_SECONDS * AUDIO_RATE
            while sum(len(chunk) for chunk in self._audio_spill) > limit:
                self._audio_spill.pop(0)   # nobody is reading: keep the latest only

    # -- state -------------------------------------------------------------

    def save_state(self) -> bytes:
        """The whole machine as bytes (gbemu.savestate): load_state() brings it back.

        A state holds everything but the ROM, so it loads only into a GameBoy
        with the same cartridge; it is about 10-60 KiB compressed.
        """
        from gbemu import savestate
        return savestate.pack(self)

    def load_state(self, data: bytes, source="<state>"):
        """Return to a state from save_state(). Raises gbemu.savestate.StateError
        (a ValueError whose message names ``source``) for data that is not a
        state of this cartridge; the machine is then left as it was. Drawing,
        sound and the events that stop a run stay as this session set them."""
        from gbemu import savestate
        savestate.unpack(self, data, source)

    def restart_samples(self):
        """Start the samples afresh from the CPU's clock, dropping what was mixed and
        not yet read (sound switched on, the machine gone back in time)."""
        s = self.state[0]
        # Reading a sound register brings the APU up to the CPU's clock.
        self.read_io(hwio.NR52)
        s["audio_acc"][:] = 0
        s["audio_read"] = s["audio_write"]
        self._audio_spill = []


def is_mbc1_multicart(rom: bytes, header: Header) -> bool:
    """An MBC1M multicart: a 1 MiB MBC1 ROM whose bank $10 starts a second game (logo included)."""
    logo = MBC1M_SECOND_GAME + 0x104
    return (header.mapper == "mbc1" and header.rom_size == MBC1M_ROM_SIZE
            and rom[logo:logo + len(NINTENDO_LOGO)] == NINTENDO_LOGO)


def io_unused_bits() -> np.ndarray:
    """Bits of each I/O register that read as 1 on a DMG (0xFF for unmapped addresses)."""
    bits = np.full(0x80, 0xFF, np.uint8)
    for addr, mask in hwio_names.DMG_IO_READ_ONES.items():
        bits[addr - hwio.IO_BASE] = mask
    return bits


def read_boot_rom(path) -> bytes:
    try:
        data = open(path, "rb").read()
    except OSError as err:
        raise RomError(str(path), f"cannot read boot ROM: {err.strerror}") from None
    if len(data) != 0x100:
        raise RomError(str(path), f"a DMG boot ROM is 256 bytes, this file has {len(data)}")
    return data
