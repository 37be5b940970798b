"""Names of the Game Boy's memory regions, I/O registers and interrupt bits.

Every register is named once, here, as Pan Docs names it; the rest of the code
uses these names and never a bare address. I/O registers live in the record's
``io`` field, indexed by ``address - IO_BASE``.

Module-level integers are compile-time constants for numba, so these cost
nothing in compiled code.
"""

# Memory map.
ROM0_START = 0x0000
ROMX_START = 0x4000
VRAM_START = 0x8000
ERAM_START = 0xA000
WRAM_START = 0xC000
ECHO_START = 0xE000
OAM_START = 0xFE00
UNUSABLE_START = 0xFEA0
IO_BASE = 0xFF00
HRAM_START = 0xFF80
IE_ADDR = 0xFFFF

# I/O registers (addresses).
P1 = 0xFF00    # joypad matrix: select bits 5-4, input bits 3-0 (0 = pressed)
SB = 0xFF01    # serial transfer data
SC = 0xFF02    # serial control: bit 7 transfer, bit 0 internal clock
DIV = 0xFF04   # divider: upper byte of the 16-bit system counter
TIMA = 0xFF05  # timer counter
TMA = 0xFF06   # timer modulo, reloaded into TIMA on overflow
TAC = 0xFF07   # timer control: bit 2 enable, bits 1-0 clock select
IF = 0xFF0F    # interrupt flags
NR10 = 0xFF10  # sound registers NR10..NR52 and wave RAM follow (APU issue)
NR52 = 0xFF26
WAVE_START = 0xFF30
LCDC = 0xFF40  # LCD control
STAT = 0xFF41  # LCD status: bits 6-3 interrupt sources, 2 LY=LYC, 1-0 mode
SCY = 0xFF42
SCX = 0xFF43
LY = 0xFF44    # current line
LYC = 0xFF45   # line compare
DMA = 0xFF46   # OAM DMA source page
BGP = 0xFF47
OBP0 = 0xFF48
OBP1 = 0xFF49
WY = 0xFF4A
WX = 0xFF4B
BOOT = 0xFF50  # any write unmaps the boot ROM

# Interrupt bits in IF and IE, in priority order.
INT_VBLANK = 0x01
INT_STAT = 0x02
INT_TIMER = 0x04
INT_SERIAL = 0x08
INT_JOYPAD = 0x10

# LCDC bits.
LCDC_ENABLE = 0x80

# STAT bits.
STAT_LYC_INT = 0x40
STAT_MODE2_INT = 0x20
STAT_MODE1_INT = 0x10
STAT_MODE0_INT = 0x08
STAT_LYC_EQUAL = 0x04

# TAC bits.
TAC_ENABLE = 0x04

# SC bits.
SC_TRANSFER = 0x80
SC_INTERNAL_CLOCK = 0x01

# Events returned by run() as a bitmask.
EV_FRAME = 0x01        # the PPU entered VBlank: a frame is complete
EV_BREAKPOINT = 0x02   # LD B,B executed (software breakpoint) or a debugger breakpoint
EV_ILLEGAL = 0x04      # an unused opcode locked the CPU
EV_SERIAL = 0x08       # a byte was sent on the link port
EV_AUDIO = 0x10        # the audio ring buffer is full
EV_TARGET = 0x20       # the cycle target was reached
EV_STOP = 0x40         # STOP executed

# Cartridge mapper kinds, as stored in the record's mbc field.
MBC_NONE = 0
MBC_1 = 1

# Bits read back as 1 in registers that do not use all eight bits.
IO_UNUSED_BITS = (
    (P1, 0xC0), (SC, 0x7E), (TAC, 0xF8), (IF, 0xE0), (STAT, 0x80),
)

# Names for the debugger and logs, in address order.
IO_NAMES = {
    P1: "P1", SB: "SB", SC: "SC", DIV: "DIV", TIMA: "TIMA", TMA: "TMA", TAC: "TAC",
    IF: "IF", LCDC: "LCDC", STAT: "STAT", SCY: "SCY", SCX: "SCX", LY: "LY", LYC: "LYC",
    DMA: "DMA", BGP: "BGP", OBP0: "OBP0", OBP1: "OBP1", WY: "WY", WX: "WX",
    BOOT: "BOOT", IE_ADDR: "IE",
}
