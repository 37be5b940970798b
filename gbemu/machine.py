"""The Python face of the emulator: a GameBoy wraps one machine record.

Scripts, bots, the test runner and the frontend drive the machine through
this class: load a cartridge, run for a number of cycles or frames or until
an event, press buttons, read registers, memory, serial output and the
screen (a numpy array), save and restore state.
"""

from __future__ import annotations

import numpy as np

from gbemu import hwio_names
from gbemu.cartridge import Header, load_rom, parse_header, RomError
from gbemu.core import hwio
from gbemu.core.state import new_state, STATE, ROM_MAX, REG_A, REG_F
from gbemu.core.cpu import (
    run, run_instructions, sync_all, peek_byte, reset_cartridge, NO_STEP_LIMIT,
)
from gbemu.core.ppu import MODE_VBLANK

CLOCK_HZ = 4_194_304
FRAME_CYCLES = 70_224

SUPPORTED_MAPPERS = {"none": hwio.MBC_NONE, "mbc1": hwio.MBC_1}

BUTTONS = ("right", "left", "up", "down", "a", "b", "select", "start")

# I/O after the DMG boot ROM hands over at $0100 (Pan Docs, "Power Up Sequence").
DMG_IO_AFTER_BOOT = {
    hwio.P1: 0xCF, hwio.SB: 0x00, hwio.SC: 0x7E, hwio.TIMA: 0x00, hwio.TMA: 0x00,
    hwio.TAC: 0xF8, hwio.IF: 0xE1,
    0xFF10: 0x80, 0xFF11: 0xBF, 0xFF12: 0xF3, 0xFF13: 0xFF, 0xFF14: 0xBF,
    0xFF16: 0x3F, 0xFF17: 0x00, 0xFF18: 0xFF, 0xFF19: 0xBF,
    0xFF1A: 0x7F, 0xFF1B: 0xFF, 0xFF1C: 0x9F, 0xFF1D: 0xFF, 0xFF1E: 0xBF,
    0xFF20: 0xFF, 0xFF21: 0x00, 0xFF22: 0x00, 0xFF23: 0xBF,
    0xFF24: 0x77, 0xFF25: 0xF3, 0xFF26: 0xF1,
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
        """Power on: into the user's boot ROM, or straight to $0100 as the DMG boot ROM leaves it."""
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
        s["mbc"] = SUPPORTED_MAPPERS[self.header.mapper]
        s["ram_size"] = self.header.ram_size if self.header.has_ram else 0
        s["eager"] = 1 if eager else 0
        s["event_mask"] = hwio.EV_BREAKPOINT | hwio.EV_ILLEGAL
        s["render"] = 1
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

    # -- running ---------------------------------------------------------------

    @property
    def clock(self) -> int:
        """T-cycles since power on."""
        return int(self.state[0]["clock"])

    def run_cycles(self, cycles: int) -> int:
        """Run for about ``cycles`` T-cycles or until a masked event; returns the events."""
        return int(run(self.state, self.clock + int(cycles), NO_STEP_LIMIT))

    def run_until(self, clock: int) -> int:
        return int(run(self.state, int(clock), NO_STEP_LIMIT))

    def run_frames(self, frames: int = 1) -> int:
        events = 0
        for _ in range(frames):
            events |= self.run_cycles(FRAME_CYCLES)
            if events & self.state[0]["event_mask"]:
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
        return int(self.state[0]["event_mask"])

    @event_mask.setter
    def event_mask(self, mask: int):
        self.state[0]["event_mask"] = mask

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
        return int(self.state[0]["frames"])

    # -- input -------------------------------------------------------------

    def set_buttons(self, pressed):
        """Set the pressed buttons (names from BUTTONS); a newly pressed line requests the joypad interrupt."""
        mask = 0
        for name in pressed:
            mask |= 1 << BUTTONS.index(name)
        s = self.state[0]
        before = self.read_io(hwio.P1) & 0x0F
        s["buttons"] = mask
        after = self.read_io(hwio.P1) & 0x0F
        if before & ~after:
            s["io"][hwio.IF - hwio.IO_BASE] |= hwio.INT_JOYPAD

    # -- state -------------------------------------------------------------

    def save_state(self) -> bytes:
        return self.state.tobytes()

    def load_state(self, data: bytes):
        if len(data) != STATE.itemsize:
            raise ValueError(f"state is {len(data)} bytes, expected {STATE.itemsize}")
        self.state[:] = np.frombuffer(data, STATE)


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
