"""Cartridge memory bank controllers: where ROM and RAM addresses land.

The bus calls ``cart_write`` for writes to $0000-$7FFF (the controller's
registers), ``cart_ram_read``/``cart_ram_write`` for $A000-$BFFF, and reads
ROM through the offsets kept in the record (``rom0_offset`` for $0000-$3FFF,
``romx_offset`` for $4000-$7FFF, already less $4000), which ``map_banks``
recomputes whenever a register changes. Bank numbers wrap at the
cartridge's size, as the unconnected address lines make them.

Controllers: none (32 KiB ROM, optional 8 KiB RAM), MBC1 (and its multicart
wiring MBC1M), MBC2 (512 half-bytes of RAM inside the controller), MBC3 with
its real-time clock (and MBC30, the variant with 8 RAM banks and 256 ROM
banks), MBC5 (with the rumble motor of rumble cartridges).

The MBC3 clock counts emulated time: it is brought up to date lazily, from
the T-cycles elapsed since it was last looked at, when the game latches it or
writes one of its registers, never cycle by cycle.
"""

import numpy as np
from numba import njit

from gbemu.core.hwio import MBC_NONE, MBC_1, MBC_2, MBC_3, MBC_5, ROMX_START, EV_RUMBLE

ROM_BANK = 0x4000
RAM_BANK = 0x2000
MBC2_RAM_CELLS = 0x200          # 512 half-bytes, repeated through $A000-$BFFF
MBC3_MAX_ROM = 0x200000         # MBC3 decodes 7 ROM bank bits; a bigger cartridge is an MBC30
MBC3_MAX_RAM = 0x8000           # and 2 RAM bank bits; a bigger RAM means an MBC30

CPU_HZ = 4_194_304              # T-cycles per second: the clock's seconds are emulated seconds
SECONDS_PER_DAY = 86_400

# MBC3 clock registers, selected by writing $08-$0C to $4000-$5FFF; indices into rtc.
RTC_SELECT_FIRST = 0x08
RTC_SELECT_LAST = 0x0C
RTC_S, RTC_M, RTC_H, RTC_DL, RTC_DH = range(5)
RTC_DH_DAY8 = 0x01              # bit 8 of the day counter
RTC_DH_HALT = 0x40              # the clock stands still
RTC_DH_CARRY = 0x80             # the day counter overflowed; stays set until written 0
RTC_DAYS = 512                  # the 9-bit day counter wraps here


@njit
def map_banks(s):
    """Recompute the ROM and RAM offsets from the controller's registers."""
    rom_mask = max(s.rom_size // ROM_BANK, 1) - 1
    ram_mask = max(s.ram_size // RAM_BANK, 1) - 1
    rom0 = 0
    romx = 1
    ram = 0
    if s.mbc == MBC_1:
        # BANK2 extends the $4000 bank; in mode 1 it also picks the $0000 bank and
        # the RAM bank. On a multicart BANK1's bit 4 is not wired.
        if s.mbc1_multicart:
            high = s.bank2 << 4
            romx = high | (s.bank1 & 0x0F)
        else:
            high = s.bank2 << 5
            romx = high | s.bank1
        if s.bank_mode:
            rom0 = high
            ram = s.bank2
    elif s.mbc == MBC_2 or s.mbc == MBC_3:
        romx = s.bank1
        ram = s.bank2 & 7
    elif s.mbc == MBC_5:
        romx = s.bank1
        ram = s.bank2 & (7 if s.has_rumble else 0x0F)
    s.rom0_offset = (rom0 & rom_mask) * ROM_BANK
    s.romx_offset = (romx & rom_mask) * ROM_BANK - ROMX_START
    s.eram_offset = (ram & ram_mask) * RAM_BANK


@njit
def cart_reset(s):
    """Power on: every controller register at its reset value."""
    s.bank1 = 1
    s.bank2 = 0
    s.bank_mode = 0
    s.ram_enabled = 0
    s.rumble = 0
    s.rtc_latch = 0xFF
    map_banks(s)


@njit
def mbc1_write(s, addr, value):
    """MBC1: RAMG ($0A in the low nibble enables RAM), BANK1 (5 bits, 0 reads as 1),
    BANK2 (2 bits), MODE (1 bit)."""
    if addr < 0x2000:
        s.ram_enabled = 1 if value & 0x0F == 0x0A else 0
    elif addr < 0x4000:
        s.bank1 = max(value & 0x1F, 1)
    elif addr < 0x6000:
        s.bank2 = value & 3
    else:
        s.bank_mode = value & 1


@njit
def mbc2_write(s, addr, value):
    """MBC2: in $0000-$3FFF address bit 8 picks the register: clear, RAMG; set, ROMB
    (4 bits, 0 reads as 1). Writes to $4000-$7FFF do nothing."""
    if addr >= 0x4000:
        return
    if addr & 0x100:
        s.bank1 = max(value & 0x0F, 1)
    else:
        s.ram_enabled = 1 if value & 0x0F == 0x0A else 0


@njit
def mbc3_write(s, addr, value):
    """MBC3: RAM and clock enable, ROM bank (7 bits, 8 on an MBC30; 0 reads as 1),
    RAM bank or clock register select, and the clock latch (write 0, then 1)."""
    if addr < 0x2000:
        s.ram_enabled = 1 if value & 0x0F == 0x0A else 0
    elif addr < 0x4000:
        wide = s.rom_size > MBC3_MAX_ROM or s.ram_size > MBC3_MAX_RAM
        s.bank1 = max(value & (0xFF if wide else 0x7F), 1)
    elif addr < 0x6000:
        s.bank2 = value & 0x0F
    else:
        if s.rtc_latch == 0 and value == 1 and s.has_rtc:
            rtc_sync(s)
            for i in range(5):
                s.rtc_latched[i] = s.rtc[i]
        s.rtc_latch = value


@njit
def mbc5_write(s, addr, value):
    """MBC5: RAMG (exactly $0A enables), ROMB0 (bank bits 0-7), ROMB1 (bit 8; bank 0
    can be mapped at $4000), RAMB (4 bits; on a rumble cartridge bit 3 drives the
    motor instead)."""
    if addr < 0x2000:
        s.ram_enabled = 1 if value == 0x0A else 0
    elif addr < 0x3000:
        s.bank1 = (s.bank1 & 0x100) | value
    elif addr < 0x4000:
        s.bank1 = (s.bank1 & 0xFF) | ((value & 1) << 8)
    elif addr < 0x6000:
        s.bank2 = value & 0x0F
        if s.has_rumble:
            motor = (value >> 3) & 1
            if motor != s.rumble:
                s.rumble = motor
                s.events |= EV_RUMBLE


@njit
def cart_write(s, addr, value):
    """A write to $0000-$7FFF: a controller register."""
    if s.mbc == MBC_1:
        mbc1_write(s, addr, value)
    elif s.mbc == MBC_2:
        mbc2_write(s, addr, value)
    elif s.mbc == MBC_3:
        mbc3_write(s, addr, value)
    elif s.mbc == MBC_5:
        mbc5_write(s, addr, value)
    else:
        return
    map_banks(s)


@njit
def rtc_sync(s):
    """Bring the MBC3 clock counters up to s.clock; they stand still while halted.

    A counter holding a value past its range (a game may write seconds = 62, say)
    counts on to the top of its bits and wraps to 0 without carrying, as the
    clock chip only compares against the exact limit. Which value that top is
    for each counter (6 bits for S and M, 5 for H) follows the register widths;
    how the real chip behaves past them is a question for hardware tests.
    """
    elapsed = s.clock - s.rtc_clock
    s.rtc_clock = s.clock
    if np.int64(s.rtc[RTC_DH]) & RTC_DH_HALT or elapsed <= 0:
        return
    total = s.rtc_cycles + elapsed
    seconds = total // CPU_HZ
    s.rtc_cycles = total - seconds * CPU_HZ
    if seconds == 0:
        return
    sec = np.int64(s.rtc[RTC_S])
    minute = np.int64(s.rtc[RTC_M])
    hour = np.int64(s.rtc[RTC_H])
    high = np.int64(s.rtc[RTC_DH])
    day = np.int64(s.rtc[RTC_DL]) | ((high & RTC_DH_DAY8) << 8)
    while seconds > 0:
        if sec < 60 and minute < 60 and hour < 24:
            # Every counter in range: add the remaining seconds at once.
            t = (hour * 60 + minute) * 60 + sec + seconds
            day += t // SECONDS_PER_DAY
            t %= SECONDS_PER_DAY
            hour = t // 3600
            minute = t // 60 % 60
            sec = t % 60
            break
        seconds -= 1
        sec += 1
        if sec == 60 or sec == 64:
            carry = sec == 60
            sec = 0
            if carry:
                minute += 1
                if minute == 60 or minute == 64:
                    carry = minute == 60
                    minute = 0
                    if carry:
                        hour += 1
                        if hour == 24 or hour == 32:
                            if hour == 24:
                                day += 1
                            hour = 0
    if day >= RTC_DAYS:
        high |= RTC_DH_CARRY
        day %= RTC_DAYS
    s.rtc[RTC_S] = sec
    s.rtc[RTC_M] = minute
    s.rtc[RTC_H] = hour
    s.rtc[RTC_DL] = day & 0xFF
    s.rtc[RTC_DH] = (high & (RTC_DH_HALT | RTC_DH_CARRY)) | (day >> 8)


@njit
def rtc_write(s, reg, value):
    """The CPU writes a clock register: the counter and its latched copy take it.

    Writing the seconds also restarts the count toward the next second.
    """
    rtc_sync(s)
    if reg == RTC_S or reg == RTC_M:
        value &= 0x3F
    elif reg == RTC_H:
        value &= 0x1F
    elif reg == RTC_DH:
        value &= RTC_DH_CARRY | RTC_DH_HALT | RTC_DH_DAY8
    s.rtc[reg] = value
    s.rtc_latched[reg] = value
    if reg == RTC_S:
        s.rtc_cycles = 0
    s.eram_dirty = 1


@njit
def cart_ram_read(s, addr):
    """A read of $A000-$BFFF: cartridge RAM, MBC2's half-bytes, or a latched clock register."""
    if s.mbc != MBC_NONE and not s.ram_enabled:
        return np.int64(0xFF)
    if s.mbc == MBC_2:
        # Only the low 4 bits exist; the upper ones read as 1.
        return np.int64(s.eram[addr & (MBC2_RAM_CELLS - 1)]) | 0xF0
    if s.mbc == MBC_3 and s.bank2 >= RTC_SELECT_FIRST:
        if s.has_rtc and s.bank2 <= RTC_SELECT_LAST:
            return np.int64(s.rtc_latched[s.bank2 - RTC_SELECT_FIRST])
        return np.int64(0xFF)
    if s.ram_size == 0:
        return np.int64(0xFF)
    return np.int64(s.eram[(s.eram_offset + (addr & 0x1FFF)) % s.ram_size])


@njit
def cart_ram_write(s, addr, value):
    """A write to $A000-$BFFF; a change to battery-backed memory sets eram_dirty."""
    if s.mbc != MBC_NONE and not s.ram_enabled:
        return
    if s.mbc == MBC_2:
        s.eram[addr & (MBC2_RAM_CELLS - 1)] = value & 0x0F
        s.eram_dirty = 1
    elif s.mbc == MBC_3 and s.bank2 >= RTC_SELECT_FIRST:
        if s.has_rtc and s.bank2 <= RTC_SELECT_LAST:
            rtc_write(s, s.bank2 - RTC_SELECT_FIRST, value)
    elif s.ram_size != 0:
        s.eram[(s.eram_offset + (addr & 0x1FFF)) % s.ram_size] = value
        s.eram_dirty = 1
