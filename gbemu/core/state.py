"""The machine state: one numpy structured record holding everything.

Registers, I/O, memory regions, unit counters, the frame buffer and the ROM all
live in one record (an array of length 1, dtype ``STATE``). Every compiled
function takes that array and works on ``st[0]``; this keeps numba's reference
counting out of the hot loop, lets the compile cache work, and makes a save
state ``st.tobytes()``.

Times are counted in T-cycles (4,194,304 per second) in int64 fields.
"""

import numpy as np

ROM_MAX = 8 * 1024 * 1024        # MBC5's largest cartridge
ERAM_MAX = 128 * 1024            # MBC5's largest RAM
SERIAL_LOG_SIZE = 8192           # bytes sent on the link port, kept for the test runner

# Register file layout: the SM83's 3-bit register code indexes r8 directly
# (B C D E H L - A); slot 6, which the code uses for [HL], stores F.
REG_B, REG_C, REG_D, REG_E, REG_H, REG_L, REG_F, REG_A = range(8)

STATE = np.dtype([
    # CPU
    ("r8", np.uint8, 8),
    ("sp", np.uint16),
    ("pc", np.uint16),
    ("ime", np.uint8),              # interrupt master enable
    ("ime_pending", np.uint8),      # EI takes effect after the next instruction
    ("halted", np.uint8),
    ("halt_bug", np.uint8),         # next opcode fetch does not advance PC
    ("locked", np.uint8),           # an unused opcode hung the CPU
    ("stopped", np.uint8),
    ("opcode", np.uint8),           # last opcode executed (for reports)
    # Scheduling
    ("clock", np.int64),            # T-cycles since power on
    ("next_event", np.int64),       # units must be synced when clock reaches this
    ("eager", np.uint8),            # sync every unit on every bus access
    ("events", np.int64),           # EV_* bits raised since run() started
    ("event_mask", np.int64),       # which events make run() return
    ("flat_bus", np.uint8),         # unit tests: 64 KiB of plain RAM, no I/O
    ("bus_special", np.uint8),      # flat bus, boot ROM or OAM DMA: take the careful path
    ("break_on_ld_b_b", np.uint8),  # LD B,B raises EV_BREAKPOINT
    ("instructions", np.int64),
    # Timer: the 16-bit system counter (DIV is its upper byte) and TIMA's reload
    ("sys_counter", np.int64),
    ("timer_clock", np.int64),      # time the timer was last brought up to date
    ("tima_reload", np.uint8),      # 1: overflowed this M-cycle, 2: reloading from TMA
    # Serial
    ("serial_bits", np.int64),      # bits left in the transfer in progress
    ("serial_clock", np.int64),
    ("serial_log", np.uint8, SERIAL_LOG_SIZE),
    ("serial_len", np.int64),
    # Joypad: bits 0-3 right left up down, 4-7 A B select start; 1 = pressed
    ("buttons", np.uint8),
    # PPU
    ("ppu_clock", np.int64),
    ("ppu_line", np.int64),         # the line being drawn; LY differs on line 153
    ("ppu_dot", np.int64),          # dot within the current line, 0..455
    ("ppu_mode", np.uint8),
    ("ppu_mode3_len", np.int64),
    ("ppu_first_line", np.uint8),   # the line just after the LCD was switched on
    ("stat_line", np.uint8),        # the STAT interrupt line, for edge detection
    ("frames", np.int64),
    ("render", np.uint8),           # draw pixels into fb (off: timing only)
    ("window_line", np.int64),      # the window's own line counter
    ("window_seen_wy", np.uint8),   # LY has matched WY this frame
    ("window_drawn", np.uint8),     # the window showed on the current line
    ("line_obj_count", np.int64),   # objects found on this line by the OAM scan
    ("line_objs", np.uint8, 10),    # their OAM indices, in drawing priority order
    ("line_bg", np.uint8, 160),     # BG/window colour numbers of the line (OBJ priority)
    ("line_obj", np.uint8, 160),    # winning object pixel: colour | palette bit 2 | behind-BG bit 3
    # OAM DMA: the bus is blocked for the CPU from dma_from to dma_until
    ("dma_active", np.uint8),
    ("dma_from", np.int64),
    ("dma_until", np.int64),
    ("dma_copy_at", np.int64),      # when the pending transfer's bytes land in OAM
    # Memory
    ("io", np.uint8, 0x80),
    ("io_unused", np.uint8, 0x80),  # bits of each I/O register that read as 1
    ("hram", np.uint8, 0x7F),
    ("ie", np.uint8),
    ("wram", np.uint8, 0x2000),
    ("vram", np.uint8, 0x2000),
    ("oam", np.uint8, 0xA0),
    ("fb", np.uint8, (144, 160)),   # shade indices 0-3
    ("flat", np.uint8, 0x10000),    # the flat test bus
    ("boot", np.uint8, 0x100),      # a user's boot ROM, mapped while boot_mapped
    ("boot_mapped", np.uint8),
    # Cartridge
    ("mbc", np.uint8),
    ("rom_size", np.int64),
    ("ram_size", np.int64),
    ("ram_enabled", np.uint8),
    ("bank1", np.int64),            # MBC1 BANK1 register (5 bits)
    ("bank2", np.int64),            # MBC1 BANK2 register (2 bits)
    ("bank_mode", np.uint8),
    ("rom0_offset", np.int64),      # ROM offset mapped at $0000
    ("romx_offset", np.int64),      # added to an address in $4000-$7FFF to index rom
    ("eram_offset", np.int64),
    ("eram_dirty", np.uint8),
    ("eram", np.uint8, ERAM_MAX),
    ("rom", np.uint8, ROM_MAX),
], align=True)


def new_state():
    """A zeroed machine record (an array of length 1)."""
    return np.zeros(1, STATE)
