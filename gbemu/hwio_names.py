"""Per-register facts used outside the compiled core."""

from gbemu.core import hwio

# I/O registers that exist on a DMG, with the bits that always read as 1.
# Addresses not listed read $FF. Sound registers read back through these masks
# (gbemu/core/apu.py: apu_read), except NR52's channel bits and wave RAM while it plays.
DMG_IO_READ_ONES = {
    hwio.P1: 0xC0, hwio.SB: 0x00, hwio.SC: 0x7E, hwio.DIV: 0x00, hwio.TIMA: 0x00,
    hwio.TMA: 0x00, hwio.TAC: 0xF8, hwio.IF: 0xE0,
    hwio.NR10: 0x80, hwio.NR11: 0x3F, hwio.NR12: 0x00, hwio.NR13: 0xFF, hwio.NR14: 0xBF,
    hwio.NR21: 0x3F, hwio.NR22: 0x00, hwio.NR23: 0xFF, hwio.NR24: 0xBF,
    hwio.NR30: 0x7F, hwio.NR31: 0xFF, hwio.NR32: 0x9F, hwio.NR33: 0xFF, hwio.NR34: 0xBF,
    hwio.NR41: 0xFF, hwio.NR42: 0x00, hwio.NR43: 0x00, hwio.NR44: 0xBF,
    hwio.NR50: 0x00, hwio.NR51: 0x00, hwio.NR52: 0x70,
    **{addr: 0x00 for addr in range(hwio.WAVE_START, hwio.WAVE_START + 16)},
    hwio.LCDC: 0x00, hwio.STAT: 0x80, hwio.SCY: 0x00, hwio.SCX: 0x00, hwio.LY: 0x00,
    hwio.LYC: 0x00, hwio.DMA: 0x00, hwio.BGP: 0x00, hwio.OBP0: 0x00, hwio.OBP1: 0x00,
    hwio.WY: 0x00, hwio.WX: 0x00,
}
