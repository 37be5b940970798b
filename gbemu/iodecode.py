"""The DMG's I/O registers in words, for the debugger.

Each register is shown by its Pan Docs name (from gbemu/core/hwio.py) with its
bits decoded: `decode` turns one register value into a short text,
`describe_io` lists every register as the CPU would read it, `describe_ppu`
summarises the picture processor's state from the machine record, and
`describe_oam` lists the 40 object (sprite) entries.

Some bits are write-only and read back as 1 (gbemu/hwio_names.py): the NRx4
trigger and period bits, the sound lengths, the period low bytes. `decode`
shows every field of a value (as a program would write it); with
`readable_only` (as `describe_io` uses it) it leaves those fields out.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from gbemu.core import hwio
from gbemu.hwio_names import DMG_IO_READ_ONES

WAVE_BYTES = hwio.WAVE_END - hwio.WAVE_START

# Every DMG register in address order; wave RAM is one entry covering its 16 bytes.
REGISTERS = tuple(sorted(
    [(addr, name) for addr, name in hwio.IO_NAMES.items() if addr != hwio.BOOT]
    + [(hwio.WAVE_START, "WAVE")]))

INTERRUPTS = ((hwio.INT_VBLANK, "VBlank"), (hwio.INT_STAT, "LCD"), (hwio.INT_TIMER, "Timer"),
              (hwio.INT_SERIAL, "Serial"), (hwio.INT_JOYPAD, "Joypad"))
MODE_NAMES = ("HBlank", "VBlank", "OAM scan", "drawing")
TIMER_HZ = (4096, 262144, 65536, 16384)   # TAC bits 1-0: CPU clock / 1024, 16, 64, 256
DUTY = ("12.5%", "25%", "50%", "75%")
WAVE_LEVEL = ("mute", "100%", "50%", "25%")
DPAD = ("Right", "Left", "Up", "Down")      # P1 lines 0-3 with the d-pad row selected
BUTTONS = ("A", "B", "Select", "Start")     # the same lines with the button row selected


def _bit(value, mask, on, off=None):
    """`on` if the bit is set, else `off` (None: leave it out)."""
    return on if value & mask else off


def _join(*parts):
    return ", ".join(p for p in parts if p)


def _interrupts(value):
    names = [name for mask, name in INTERRUPTS if value & mask]
    return " ".join(names) if names else "none"


def _p1(value):
    """The joypad matrix: which rows are selected (0 = selected), which lines are low."""
    rows = [name for mask, name in ((0x10, "d-pad"), (0x20, "buttons")) if not value & mask]
    low = []
    for line in range(4):
        if not value & (1 << line):
            keys = [keys[line] for mask, keys in ((0x10, DPAD), (0x20, BUTTONS))
                    if not value & mask]
            low.append("/".join(keys) if keys else f"line {line}")
    return _join("select " + ("+".join(rows) if rows else "none"),
                 "low: " + " ".join(low) if low else "no line low")


def _sc(value):
    return _join(_bit(value, hwio.SC_TRANSFER, "transfer active", "idle"),
                 _bit(value, hwio.SC_INTERNAL_CLOCK, "internal clock", "external clock"))


def _tac(value):
    return f"{_bit(value, hwio.TAC_ENABLE, 'on', 'off')}, {TIMER_HZ[value & 3]} Hz"


def _lcdc(value):
    return _join(_bit(value, hwio.LCDC_ENABLE, "LCD on", "LCD off"),
                 _bit(value, 0x40, "win map $9C00", "win map $9800"),
                 _bit(value, 0x20, "win on", "win off"),
                 _bit(value, 0x10, "tiles $8000", "tiles $8800"),
                 _bit(value, 0x08, "BG map $9C00", "BG map $9800"),
                 _bit(value, 0x04, "OBJ 8x16", "OBJ 8x8"),
                 _bit(value, 0x02, "OBJ on", "OBJ off"),
                 _bit(value, 0x01, "BG on", "BG off"))


def _stat(value):
    sources = [name for mask, name in ((hwio.STAT_LYC_INT, "LYC"), (hwio.STAT_MODE2_INT, "OAM"),
                                       (hwio.STAT_MODE1_INT, "VBlank"),
                                       (hwio.STAT_MODE0_INT, "HBlank")) if value & mask]
    return _join("int " + ("+".join(sources) if sources else "none"),
                 _bit(value, hwio.STAT_LYC_EQUAL, "LY=LYC", "LY!=LYC"),
                 f"mode {value & 3} {MODE_NAMES[value & 3]}")


def _palette(value, obj=False):
    """Colour number > shade for each of the four colours (objects: colour 0 is clear)."""
    text = " ".join(f"{c}>{(value >> (2 * c)) & 3}" for c in range(4))
    return text + (" (0 clear)" if obj else "")


def _sweep(value):
    pace = (value >> 4) & 7
    if not pace:
        return "sweep off"
    return f"sweep pace {pace}, {_bit(value, 0x08, 'down', 'up')}, step {value & 7}"


def _duty_length(value, shown):
    return _join(f"duty {DUTY[value >> 6]}", f"length {value & 0x3F}" if shown & 0x3F else None)


def _envelope(value):
    if not value & 0xF8:
        return "DAC off"
    pace = value & 7
    return _join(f"volume {value >> 4}",
                 f"env {_bit(value, 0x08, 'up', 'down')} pace {pace}" if pace else "env off")


def _control(value, shown):
    """NRx4: trigger and length enable, and on channels 1-3 the period's top 3 bits."""
    return _join(_bit(value & shown, 0x80, "trigger"),
                 _bit(value, 0x40, "length on", "length off"),
                 f"period hi {value & 7}" if shown & 7 else None)


def _nr43(value):
    shift, divider = value >> 4, value & 7
    hz = 262144 / (divider * (1 << shift) if divider else (1 << shift) / 2)
    return f"shift {shift}, {_bit(value, 0x08, '7', '15')}-bit LFSR, divider {divider} " \
           f"({hz:g} Hz)"


def _nr50(value):
    return _join(f"left {((value >> 4) & 7) + 1}/8", f"right {(value & 7) + 1}/8",
                 _bit(value, 0x80, "VIN left"), _bit(value, 0x08, "VIN right"))


def _nr51(value):
    """Panning: for each channel 1-4, L, R, LR or - (not mixed)."""
    parts = []
    for ch in range(4):
        side = _bit(value, 0x10 << ch, "L", "") + _bit(value, 0x01 << ch, "R", "")
        parts.append(f"ch{ch + 1} {side or '-'}")
    return " ".join(parts)


def _nr52(value):
    on = [str(ch + 1) for ch in range(4) if value & (1 << ch)]
    return _join(_bit(value, 0x80, "sound on", "sound off"),
                 "channels " + " ".join(on) + " on" if on else "no channel on")


def _wave(value):
    return f"samples {value >> 4:X} {value & 15:X}"


_DECODERS = {
    hwio.P1: _p1,
    hwio.SB: lambda v: f"data ${v:02X}",
    hwio.SC: _sc,
    hwio.DIV: lambda v: f"system counter bits 15-8 = {v}",
    hwio.TIMA: lambda v: f"count {v}",
    hwio.TMA: lambda v: f"reload {v}",
    hwio.TAC: _tac,
    hwio.IF: _interrupts,
    hwio.IE_ADDR: _interrupts,
    hwio.NR10: _sweep,
    hwio.NR12: _envelope,
    hwio.NR13: lambda v: f"period lo ${v:02X}",
    hwio.NR22: _envelope,
    hwio.NR23: lambda v: f"period lo ${v:02X}",
    hwio.NR30: lambda v: _bit(v, 0x80, "DAC on", "DAC off"),
    hwio.NR31: lambda v: f"length {v}",
    hwio.NR32: lambda v: f"level {WAVE_LEVEL[(v >> 5) & 3]}",
    hwio.NR33: lambda v: f"period lo ${v:02X}",
    hwio.NR41: lambda v: f"length {v & 0x3F}",
    hwio.NR42: _envelope,
    hwio.NR43: _nr43,
    hwio.NR50: _nr50,
    hwio.NR51: _nr51,
    hwio.NR52: _nr52,
    hwio.LCDC: _lcdc,
    hwio.STAT: _stat,
    hwio.SCY: lambda v: f"BG scroll y {v}",
    hwio.SCX: lambda v: f"BG scroll x {v}",
    hwio.LY: lambda v: f"line {v}" + (" (VBlank)" if v >= 144 else ""),
    hwio.LYC: lambda v: f"compare line {v}",
    hwio.DMA: lambda v: f"source ${v:02X}00",
    hwio.BGP: _palette,
    hwio.OBP0: lambda v: _palette(v, obj=True),
    hwio.OBP1: lambda v: _palette(v, obj=True),
    hwio.WY: lambda v: f"window top {v}",
    hwio.WX: lambda v: f"window left {v - 7}",
}
# Registers with some fields readable and some write-only: decoders take (value, shown bits).
_PARTLY_READABLE = {
    hwio.NR11: _duty_length, hwio.NR21: _duty_length,
    hwio.NR14: _control, hwio.NR24: _control, hwio.NR34: _control,
    hwio.NR44: lambda v, shown: _control(v, shown & ~7),
}


def decode(addr: int, value: int, readable_only: bool = False) -> str:
    """The meaning of `value` in the I/O register at `addr`, in a few words.

    readable_only: leave out fields the CPU cannot read back (they read as 1).
    """
    value &= 0xFF
    if hwio.WAVE_START <= addr < hwio.WAVE_END:
        return _wave(value)
    if addr not in _DECODERS and addr not in _PARTLY_READABLE:
        raise ValueError(f"${addr:04X} is not a DMG I/O register")
    shown = 0xFF & ~DMG_IO_READ_ONES.get(addr, 0) if readable_only else 0xFF
    if addr in _PARTLY_READABLE:
        return _PARTLY_READABLE[addr](value, shown)
    return _DECODERS[addr](value) if shown else "write-only"


def describe_io(read: Callable[[int], int]) -> list[str]:
    """One aligned line per register: address, name, value as read, decoded bits."""
    lines = []
    for addr, name in REGISTERS:
        if addr == hwio.WAVE_START:
            data = [read(addr + i) & 0xFF for i in range(WAVE_BYTES)]
            lines.append(f"${addr:04X} {name:<5} " + " ".join(f"{b:02X}" for b in data))
        else:
            value = read(addr) & 0xFF
            text = decode(addr, value, readable_only=True)
            lines.append(f"${addr:04X} {name:<5} ${value:02X}  {text}")
    return lines


def describe_ppu(s) -> list[str]:
    """The picture processor's state from a machine record (`gb.state[0]`).

    The PPU catches up lazily: sync the machine first (GameBoy.sync) so the
    record shows the present moment.
    """
    io = s["io"]

    def reg(addr):
        return int(io[addr - hwio.IO_BASE])

    mode, line, ly = int(s["ppu_mode"]), int(s["ppu_line"]), reg(hwio.LY)
    return [
        f"mode {mode} ({MODE_NAMES[mode & 3]})  line {line}  LY {ly}  LYC {reg(hwio.LYC)}"
        f"  dot {int(s['ppu_dot'])}  mode 3 length {int(s['ppu_mode3_len'])}",
        f"LCDC ${reg(hwio.LCDC):02X}  {_lcdc(reg(hwio.LCDC))}",
        f"STAT ${reg(hwio.STAT):02X}  {_stat(reg(hwio.STAT))}"
        f"  interrupt line {'high' if s['stat_line'] else 'low'}",
        f"SCX {reg(hwio.SCX)} SCY {reg(hwio.SCY)}  WX {reg(hwio.WX)} WY {reg(hwio.WY)}"
        f"  window line {int(s['window_line'])}"
        f"  WY seen {'yes' if s['window_seen_wy'] else 'no'}",
        f"objects on line {int(s['line_obj_count'])}  frames {int(s['frames'])}",
    ]


def describe_oam(oam: np.ndarray, lcdc: int) -> list[str]:
    """The 40 object entries: a header, then one line per entry.

    Each line shows the raw Y and X, the screen position of the top-left pixel
    (Y - 16, X - 8), the tile (8x16 objects use tile & $FE and the next one),
    the attribute flags, and `*` when some pixel of the object lies on screen.
    """
    oam = np.asarray(oam, np.uint8).reshape(40, 4)
    tall = bool(lcdc & 0x04)
    height = 16 if tall else 8
    lines = [f"{'#':>2} {'Y':>3} {'X':>3} {'x':>4},{'y':>4}   {'tile':<6} flags"]
    for i, (y, x, tile, attr) in enumerate(oam.tolist()):
        sy, sx = y - 16, x - 8
        visible = sy < 144 and sy + height > 0 and sx < 160 and sx + 8 > 0
        tiles = f"${tile & 0xFE:02X}+{(tile | 1):02X}" if tall else f"${tile:02X}   "
        flags = _join(_bit(attr, 0x80, "behind BG"), _bit(attr, 0x40, "Y flip"),
                      _bit(attr, 0x20, "X flip"), _bit(attr, 0x10, "OBP1", "OBP0"))
        lines.append(f"{i:2} ${y:02X} ${x:02X} {sx:4},{sy:4} {'*' if visible else ' '} "
                     f"{tiles} {flags}")
    return lines
