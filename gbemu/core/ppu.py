"""The picture processor's timing: LY, the STAT modes, and the LCD interrupts.

A line is 456 dots (one dot per T-cycle): mode 2 (OAM scan, 80 dots), mode 3
(drawing, 172 dots or more), mode 0 (HBlank) to the end of the line. Lines
144-153 are VBlank (mode 1). The STAT interrupt is one line ORed from the
enabled sources; only its rising edge requests an interrupt ("STAT blocking").

Catch-up: the PPU runs from one mode transition to the next when it is touched
or when its next transition falls due; between transitions nothing changes.
The OAM scan's end decides mode 3's length (render.scan_objects); the line is
drawn when mode 3 ends (render.draw_line).
"""

import numpy as np
from numba import njit

from gbemu.core.render import scan_objects, draw_line
from gbemu.core.hwio import (
    INT_VBLANK, INT_STAT, LCDC_ENABLE, STAT_LYC_INT, STAT_MODE2_INT, STAT_MODE1_INT,
    STAT_MODE0_INT, STAT_LYC_EQUAL, EV_FRAME,
)
from gbemu.core.hwio import (  # io-field offsets
    R_IF, R_LCDC, R_LY, R_LYC, R_STAT, R_WY,
)

NEVER = np.int64(1) << 62

LINE_DOTS = 456
OAM_SCAN_DOTS = 80
VISIBLE_LINES = 144
LINES = 154
LY_153_DOTS = 4      # on the last line LY reads 153 only this long, then 0
OAM_IRQ_DOT = LINE_DOTS - 4   # where the next line's OAM interrupt source rises
VRAM_LOCK_EARLY = 4           # mode 3's hold on VRAM starts this long before STAT shows it
# Where within an M-cycle the CPU samples the end of mode 3: a mode 3 of N dots
# is over for the CPU 3 dots early. Measured with Mooneye's
# intr_2_mode0_timing_sprites, where each object adds 6-11 dots: only this
# phase puts every case in the M-cycle the hardware shows.
MODE3_END_PHASE = 3
HBLANK_IRQ_EARLY = 4          # the HBlank interrupt source rises before mode 3's N dots end

STAT_SOURCES = STAT_LYC_INT | STAT_MODE2_INT | STAT_MODE1_INT | STAT_MODE0_INT

MODE_HBLANK = 0
MODE_VBLANK = 1
MODE_OAM_SCAN = 2
MODE_DRAWING = 3


@njit
def mode3_end(s):
    """The dot at which the CPU sees mode 3 end (see MODE3_END_PHASE)."""
    return OAM_SCAN_DOTS + s.ppu_mode3_len - MODE3_END_PHASE


@njit
def hblank_irq_dot(s):
    """The dot at which the HBlank interrupt source rises, just before mode 3 ends."""
    return OAM_SCAN_DOTS + s.ppu_mode3_len - HBLANK_IRQ_EARLY


@njit
def ly_changing(s):
    """The last dots of a line, after LY has moved on: the LY=LYC comparison is off
    and the next line's OAM scan already holds OAM."""
    return (s.ppu_dot >= OAM_IRQ_DOT and s.ppu_line < VISIBLE_LINES - 1
            and s.ppu_mode == MODE_HBLANK)


@njit
def vram_blocked(s, writing):
    """The CPU cannot reach VRAM during mode 3; reads are refused from 4 dots before."""
    if not s.io[R_LCDC] & LCDC_ENABLE:
        return False
    if s.ppu_mode == MODE_DRAWING:
        return True
    return (not writing and s.ppu_mode == MODE_OAM_SCAN and not s.ppu_first_line
            and s.ppu_dot >= OAM_SCAN_DOTS - VRAM_LOCK_EARLY)


@njit
def oam_blocked(s, writing):
    """The CPU cannot reach OAM during the OAM scan and mode 3.

    Reads are refused from the moment LY moves on; writes still land then, and
    in the last M-cycle of the OAM scan (measured by Mooneye lcdon_write_timing).
    """
    if not s.io[R_LCDC] & LCDC_ENABLE:
        return False
    if s.ppu_mode == MODE_DRAWING:
        return True
    if s.ppu_mode == MODE_OAM_SCAN:
        if writing:
            return not s.ppu_first_line and s.ppu_dot < OAM_SCAN_DOTS - VRAM_LOCK_EARLY
        return not s.ppu_first_line
    return not writing and ly_changing(s)


@njit
def update_stat(s):
    """Recompute STAT's low bits and request STAT on a rising edge of its line."""
    stat = np.int64(s.io[R_STAT]) & 0x78
    line = 0
    if s.io[R_LCDC] & LCDC_ENABLE:
        # The first line after the LCD is switched on shows mode 0 while scanning OAM.
        mode = s.ppu_mode
        if s.ppu_first_line and mode == MODE_OAM_SCAN:
            mode = MODE_HBLANK
        stat |= mode
        if s.io[R_LY] == s.io[R_LYC] and not ly_changing(s):
            stat |= STAT_LYC_EQUAL
            if stat & STAT_LYC_INT:
                line = 1
        if mode == MODE_HBLANK and stat & STAT_MODE0_INT and not s.ppu_first_line:
            line = 1
        elif (mode == MODE_DRAWING and stat & STAT_MODE0_INT
                and s.ppu_dot >= hblank_irq_dot(s)):
            line = 1
        elif mode == MODE_VBLANK and stat & STAT_MODE1_INT:
            line = 1
        elif mode == MODE_OAM_SCAN and stat & STAT_MODE2_INT:
            line = 1
        if stat & STAT_MODE2_INT:
            # The OAM interrupt source rises a little before the next visible
            # line starts, and also fires at the start of line 144.
            if (mode == MODE_HBLANK and s.ppu_dot >= OAM_IRQ_DOT
                    and s.ppu_line < VISIBLE_LINES - 1):
                line = 1
            if s.ppu_line == VISIBLE_LINES and s.ppu_dot == 0:
                line = 1
    else:
        # With the LCD off the comparison clock stops: the LY=LYC bit keeps its
        # last value whatever LYC becomes, and the interrupt line holds its level.
        stat |= np.int64(s.io[R_STAT]) & STAT_LYC_EQUAL
        line = s.stat_line
    s.io[R_STAT] = stat | 0x80
    if line and not s.stat_line:
        s.io[R_IF] = s.io[R_IF] | INT_STAT
    s.stat_line = line


@njit
def transition_dot(s):
    """The dot of the current line at which the PPU's next transition happens."""
    if s.ppu_mode == MODE_OAM_SCAN:
        return OAM_SCAN_DOTS
    if s.ppu_mode == MODE_DRAWING:
        if s.ppu_dot < hblank_irq_dot(s):
            return hblank_irq_dot(s)
        return mode3_end(s)
    if s.ppu_line == LINES - 1 and s.io[R_LY] != 0:
        return LY_153_DOTS
    if (s.ppu_mode == MODE_HBLANK and s.ppu_dot < OAM_IRQ_DOT
            and s.ppu_line < VISIBLE_LINES - 1):
        return OAM_IRQ_DOT
    return LINE_DOTS


@njit
def start_line(s, ly):
    s.ppu_line = ly
    s.io[R_LY] = ly
    s.ppu_dot = 0
    if ly == 0:
        s.window_line = 0
        s.window_seen_wy = 0
    if ly < VISIBLE_LINES:
        s.ppu_mode = MODE_OAM_SCAN
        if ly == s.io[R_WY]:
            s.window_seen_wy = 1
    else:
        s.ppu_mode = MODE_VBLANK
        if ly == VISIBLE_LINES:
            s.io[R_IF] = s.io[R_IF] | INT_VBLANK
            s.events |= EV_FRAME
            s.frames += 1


@njit
def transition(s):
    """Move past the transition at transition_dot(s)."""
    if s.ppu_mode == MODE_OAM_SCAN:
        s.ppu_mode = MODE_DRAWING
        s.ppu_mode3_len = scan_objects(s, s.ppu_line)
    elif s.ppu_mode == MODE_DRAWING:
        if s.ppu_dot == mode3_end(s):
            s.ppu_mode = MODE_HBLANK
            draw_line(s, s.ppu_line)
    elif s.ppu_dot == LY_153_DOTS and s.ppu_line == LINES - 1:
        s.io[R_LY] = 0
    elif s.ppu_dot == OAM_IRQ_DOT:
        s.io[R_LY] = s.ppu_line + 1   # LY moves on before the line ends
    else:
        s.ppu_first_line = 0
        ly = s.ppu_line + 1
        if ly == LINES:
            ly = 0
        start_line(s, ly)


@njit
def ppu_sync(s):
    """Run the PPU from ppu_clock up to s.clock."""
    if not s.io[R_LCDC] & LCDC_ENABLE:
        s.ppu_clock = s.clock
        return
    while True:
        to_next = transition_dot(s) - s.ppu_dot
        if s.ppu_clock + to_next > s.clock:
            s.ppu_dot += s.clock - s.ppu_clock
            s.ppu_clock = s.clock
            return
        s.ppu_clock += to_next
        s.ppu_dot += to_next
        transition(s)
        update_stat(s)


@njit
def ppu_next_event(s):
    """When the PPU must next be brought up to date: the next point at which it
    may request an interrupt.

    With no STAT source enabled only VBlank can, so the transitions in between
    are not scheduled: they happen when something touches the PPU (every
    register, VRAM and OAM access syncs it first) or VBlank comes, and each
    line is still drawn with the registers it had when its mode 3 ended.
    """
    if not s.io[R_LCDC] & LCDC_ENABLE:
        return NEVER
    if np.int64(s.io[R_STAT]) & STAT_SOURCES == 0:
        lines = VISIBLE_LINES - s.ppu_line
        if lines <= 0:
            lines += LINES
        return s.ppu_clock + lines * LINE_DOTS - s.ppu_dot
    return s.ppu_clock + transition_dot(s) - s.ppu_dot


@njit
def lcdc_write(s, value):
    """An LCDC write (PPU synced): switching the LCD off or on resets its timing."""
    was_on = s.io[R_LCDC] & LCDC_ENABLE
    s.io[R_LCDC] = value
    if was_on and not value & LCDC_ENABLE:
        s.io[R_LY] = 0
        s.ppu_line = 0
        s.fb[:, :] = 0      # a switched-off LCD shows blank (lightest shade)
        s.ppu_dot = 0
        s.ppu_mode = MODE_HBLANK
        update_stat(s)
    elif not was_on and value & LCDC_ENABLE:
        s.ppu_clock = s.clock
        s.ppu_first_line = 1
        start_line(s, np.int64(0))
        update_stat(s)


# -- the DMG's OAM corruption bug ------------------------------------------------------
#
# During the OAM scan the PPU reads OAM one 8-byte row per M-cycle. A CPU access
# to $FE00-$FEFF in that M-cycle, or the CPU's 16-bit increment/decrement unit
# holding an address there (INC rr, DEC rr, [HL+], [HL-], PUSH, POP...),
# collides with the PPU's read and corrupts the row it reads, as Pan Docs'
# "OAM Corruption Bug" page describes. Only the kind of access and the row
# matter, not the address or the value. Bitwise formulas act on each bit, so
# they are applied to the two bytes of a 16-bit OAM word alike.

OAM_BUG_WRITE = 1       # a write, or an increment/decrement alone
OAM_BUG_READ = 2        # a read
OAM_BUG_READ_IDU = 3    # a read in the same M-cycle as an increment/decrement
OAM_ROWS = 20
OAM_ROW_PHASE = 1       # the access at the end of the scan's first M-cycle meets row 1
OAM_ROW_BYTES = 8


@njit
def oam_scan_row(s):
    """The OAM row the PPU reads in the current M-cycle (PPU synced), or -1."""
    if not s.io[R_LCDC] & LCDC_ENABLE or s.ppu_first_line:
        return -1
    if s.ppu_mode != MODE_OAM_SCAN or s.ppu_line >= VISIBLE_LINES:
        return -1
    return (s.ppu_dot >> 2) + OAM_ROW_PHASE


@njit
def copy_row(s, source, target):
    for i in range(OAM_ROW_BYTES):
        s.oam[target * OAM_ROW_BYTES + i] = s.oam[source * OAM_ROW_BYTES + i]


@njit
def oam_corrupt(s, kind):
    """Corrupt the row the OAM scan is reading, after a colliding access of `kind`."""
    row = oam_scan_row(s)
    if row <= 0 or row >= OAM_ROWS:
        return              # the first row (objects 0 and 1) is never corrupted
    here = row * OAM_ROW_BYTES
    before = here - OAM_ROW_BYTES
    if kind == OAM_BUG_READ_IDU and 4 <= row < OAM_ROWS - 1:
        two_before = before - OAM_ROW_BYTES
        for i in range(2):
            a = np.int64(s.oam[two_before + i])
            b = np.int64(s.oam[before + i])
            c = np.int64(s.oam[here + i])
            d = np.int64(s.oam[before + 4 + i])
            s.oam[before + i] = (b & (a | c | d)) | (a & c & d)
        copy_row(s, row - 1, row)
        copy_row(s, row - 1, row - 2)
    for i in range(2):
        a = np.int64(s.oam[here + i])
        b = np.int64(s.oam[before + i])
        c = np.int64(s.oam[before + 4 + i])
        if kind == OAM_BUG_WRITE:
            s.oam[here + i] = ((a ^ c) & (b ^ c)) ^ c
        else:
            s.oam[here + i] = b | (a & c)
    for i in range(2, OAM_ROW_BYTES):
        s.oam[here + i] = s.oam[before + i]
