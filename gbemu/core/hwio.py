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
# Sound: channel 1 (pulse with sweep), 2 (pulse), 3 (wave), 4 (noise), then control.
NR10 = 0xFF10  # ch1 sweep: bits 6-4 pace, 3 direction (1 = down), 2-0 step
NR11 = 0xFF11  # ch1 bits 7-6 duty, 5-0 length (write-only)
NR12 = 0xFF12  # ch1 envelope: bits 7-4 initial volume, 3 direction (1 = up), 2-0 pace
NR13 = 0xFF13  # ch1 period low 8 bits (write-only)
NR14 = 0xFF14  # ch1 bit 7 trigger, 6 length enable, 2-0 period high bits
NR21 = 0xFF16  # ch2 duty and length, as NR11
NR22 = 0xFF17  # ch2 envelope, as NR12
NR23 = 0xFF18  # ch2 period low
NR24 = 0xFF19  # ch2 control, as NR14
NR30 = 0xFF1A  # ch3 bit 7: DAC on
NR31 = 0xFF1B  # ch3 length (8 bits, write-only)
NR32 = 0xFF1C  # ch3 output level: bits 6-5 (0 mute, 1 full, 2 half, 3 quarter)
NR33 = 0xFF1D  # ch3 period low
NR34 = 0xFF1E  # ch3 control, as NR14
NR41 = 0xFF20  # ch4 length (bits 5-0, write-only)
NR42 = 0xFF21  # ch4 envelope, as NR12
NR43 = 0xFF22  # ch4 bits 7-4 clock shift, 3 LFSR width (1 = 7 bits), 2-0 clock divider
NR44 = 0xFF23  # ch4 bit 7 trigger, 6 length enable
NR50 = 0xFF24  # master volume: bits 6-4 left, 2-0 right (bits 7 and 3: VIN, unused)
NR51 = 0xFF25  # panning: bits 7-4 channels 4-1 to the left, bits 3-0 to the right
NR52 = 0xFF26  # bit 7 APU power (R/W); bits 3-0 channels 4-1 on (read-only)
WAVE_START = 0xFF30  # wave RAM: 16 bytes, 32 4-bit samples, high nibble first
WAVE_END = 0xFF40
SOUND_START = NR10   # $FF10-$FF3F: everything the APU owns
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

# Offsets of the registers in the record's io field (address - IO_BASE).
R_BGP = BGP - IO_BASE
R_DMA = DMA - IO_BASE
R_IF = IF - IO_BASE
R_LCDC = LCDC - IO_BASE
R_LY = LY - IO_BASE
R_LYC = LYC - IO_BASE
R_NR10 = NR10 - IO_BASE
R_NR13 = NR13 - IO_BASE
R_NR14 = NR14 - IO_BASE
R_NR30 = NR30 - IO_BASE
R_NR32 = NR32 - IO_BASE
R_NR43 = NR43 - IO_BASE
R_NR50 = NR50 - IO_BASE
R_NR51 = NR51 - IO_BASE
R_NR52 = NR52 - IO_BASE
R_OBP0 = OBP0 - IO_BASE
R_OBP1 = OBP1 - IO_BASE
R_P1 = P1 - IO_BASE
R_SB = SB - IO_BASE
R_SC = SC - IO_BASE
R_SCX = SCX - IO_BASE
R_SCY = SCY - IO_BASE
R_STAT = STAT - IO_BASE
R_TAC = TAC - IO_BASE
R_TIMA = TIMA - IO_BASE
R_TMA = TMA - IO_BASE
R_WAVE = WAVE_START - IO_BASE
R_WX = WX - IO_BASE
R_WY = WY - IO_BASE

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
EV_AUDIO = 0x10        # the audio sample ring buffer is nearly full: drain it
EV_TARGET = 0x20       # the cycle target was reached
EV_STOP = 0x40         # STOP executed
EV_RUMBLE = 0x80       # the cartridge's rumble motor was switched on or off
EV_WATCH = 0x100       # a watched address was read or written (the instruction completed)

# Debugger: the record's debug field says what to check (nothing when 0, so a
# run without breakpoints costs one byte test per instruction); debug_map
# marks addresses.
DEBUG_EXEC = 0x01      # stop before an instruction at an address marked BP_EXEC
DEBUG_WATCH = 0x02     # stop after an access to an address marked BP_READ/BP_WRITE
DEBUG_CALLS = 0x04     # keep the call ring up to date (backtrace, finish)
# A watch covers what the bus's inlined fast paths serve: reads of ROM, reads
# of WRAM or HRAM, writes of WRAM or HRAM. Those accesses must then take the
# careful path, which checks watchpoints.
DEBUG_WATCH_ROM_READ = 0x08
DEBUG_WATCH_RAM_READ = 0x10
DEBUG_WATCH_RAM_WRITE = 0x20
ROM_REGION = (ROM0_START, VRAM_START - 1)
RAM_REGIONS = ((WRAM_START, ECHO_START - 1), (HRAM_START, IE_ADDR - 1))
BP_EXEC = 0x01
BP_READ = 0x02
BP_WRITE = 0x04

# Cartridge mapper kinds, as stored in the record's mbc field.
MBC_NONE = 0
MBC_1 = 1
MBC_2 = 2
MBC_3 = 3
MBC_5 = 5

# Bits read back as 1 in registers that do not use all eight bits.
IO_UNUSED_BITS = (
    (P1, 0xC0), (SC, 0x7E), (TAC, 0xF8), (IF, 0xE0), (STAT, 0x80),
)

# Names for the debugger and logs, in address order.
IO_NAMES = {
    P1: "P1", SB: "SB", SC: "SC", DIV: "DIV", TIMA: "TIMA", TMA: "TMA", TAC: "TAC",
    IF: "IF",
    NR10: "NR10", NR11: "NR11", NR12: "NR12", NR13: "NR13", NR14: "NR14",
    NR21: "NR21", NR22: "NR22", NR23: "NR23", NR24: "NR24",
    NR30: "NR30", NR31: "NR31", NR32: "NR32", NR33: "NR33", NR34: "NR34",
    NR41: "NR41", NR42: "NR42", NR43: "NR43", NR44: "NR44",
    NR50: "NR50", NR51: "NR51", NR52: "NR52",
    LCDC: "LCDC", STAT: "STAT", SCY: "SCY", SCX: "SCX", LY: "LY", LYC: "LYC",
    DMA: "DMA", BGP: "BGP", OBP0: "OBP0", OBP1: "OBP1", WY: "WY", WX: "WX",
    BOOT: "BOOT", IE_ADDR: "IE",
}
