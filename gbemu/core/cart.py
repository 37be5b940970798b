"""Cartridge memory bank controllers: where ROM and RAM addresses land.

The bus calls ``cart_write`` for writes to $0000-$7FFF (the controller's
registers) and reads through the offsets kept in the record, which each
controller recomputes when its registers change. Supported: no controller
(32 KiB ROM, optional 8 KiB RAM) and MBC1.
"""

import numpy as np
from numba import njit

from gbemu.core.hwio import MBC_NONE, MBC_1, ROMX_START

ROM_BANK = 0x4000
RAM_BANK = 0x2000


@njit
def mbc1_map(s):
    """MBC1: BANK1 (5 bits, 0 reads as 1) and BANK2 (2 bits) select the banks.

    In mode 0 BANK2 only extends the $4000 bank; in mode 1 it also selects the
    $0000 bank and the RAM bank. Bank numbers wrap at the cartridge's size.
    """
    rom_mask = max(s.rom_size // ROM_BANK, 1) - 1
    high = s.bank2 << 5
    s.romx_offset = ((high | s.bank1) & rom_mask) * ROM_BANK - ROMX_START
    if s.bank_mode:
        s.rom0_offset = (high & rom_mask) * ROM_BANK
        ram_mask = max(s.ram_size // RAM_BANK, 1) - 1
        s.eram_offset = (s.bank2 & ram_mask) * RAM_BANK
    else:
        s.rom0_offset = 0
        s.eram_offset = 0


@njit
def cart_reset(s):
    s.bank1 = 1
    s.bank2 = 0
    s.bank_mode = 0
    s.ram_enabled = 0
    s.rom0_offset = 0
    s.romx_offset = ROM_BANK - ROMX_START
    s.eram_offset = 0
    if s.mbc == MBC_1:
        mbc1_map(s)


@njit
def cart_write(s, addr, value):
    """A write to $0000-$7FFF: a controller register."""
    if s.mbc == MBC_1:
        if addr < 0x2000:
            s.ram_enabled = 1 if value & 0x0F == 0x0A else 0
        elif addr < 0x4000:
            s.bank1 = value & 0x1F
            if s.bank1 == 0:
                s.bank1 = 1
        elif addr < 0x6000:
            s.bank2 = value & 3
        else:
            s.bank_mode = value & 1
        mbc1_map(s)


@njit
def cart_ram_read(s, addr):
    if s.ram_size == 0 or (s.mbc != MBC_NONE and not s.ram_enabled):
        return np.int64(0xFF)
    return np.int64(s.eram[(s.eram_offset + (addr & 0x1FFF)) % s.ram_size])


@njit
def cart_ram_write(s, addr, value):
    if s.ram_size != 0 and (s.mbc == MBC_NONE or s.ram_enabled):
        s.eram[(s.eram_offset + (addr & 0x1FFF)) % s.ram_size] = value
        s.eram_dirty = 1
