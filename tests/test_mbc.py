"""Memory bank controllers, on synthetic cartridges whose banks say who they are.

Every 16 KiB ROM bank of the images built here holds its own bank number
(16 bits, little-endian) at offset $2000, so reading $2000 shows which bank
is mapped at $0000 and reading $6000 which bank is mapped at $4000. The CPU
itself writes the controller registers (a two-instruction program in WRAM),
so the writes take the same path through the bus as a game's.
"""

from __future__ import annotations

import pytest

from gbemu.cartridge import NINTENDO_LOGO, compute_header_checksum
from gbemu.core import hwio
from gbemu.machine import CLOCK_HZ, GameBoy

BANK = 0x4000
TAG = 0x2000                    # where each bank keeps its number
ROM_CODE = {32 << 10 << n: n for n in range(9)}      # ROM size -> header code
RAM_CODE = {0: 0, 8 << 10: 2, 32 << 10: 3, 128 << 10: 4, 64 << 10: 5}

MBC1, MBC1_RAM_BATTERY = 0x01, 0x03
MBC2_BATTERY = 0x06
MBC3_RTC_RAM_BATTERY, MBC3, MBC3_RAM_BATTERY = 0x10, 0x11, 0x13
MBC5, MBC5_RAM_BATTERY, MBC5_RUMBLE_RAM = 0x19, 0x1B, 0x1D

RTC_S, RTC_M, RTC_H, RTC_DL, RTC_DH = 0x08, 0x09, 0x0A, 0x0B, 0x0C
DH_HALT, DH_CARRY = 0x40, 0x80


def banked_rom(cart_type: int, rom_size: int, ram_size: int = 0,
               second_logo_bank: int | None = None) -> bytes:
    """An image whose every bank holds its number at TAG, with a valid header."""
    image = bytearray(rom_size)
    for bank in range(rom_size // BANK):
        image[bank * BANK + TAG:bank * BANK + TAG + 2] = bank.to_bytes(2, "little")
    image[0x104:0x134] = NINTENDO_LOGO
    image[0x134:0x13C] = b"BANKTEST"
    image[0x147] = cart_type
    image[0x148] = ROM_CODE[rom_size]
    image[0x149] = RAM_CODE[ram_size]
    image[0x14D] = compute_header_checksum(bytes(image))
    if second_logo_bank is not None:
        start = second_logo_bank * BANK
        image[start + 0x104:start + 0x134] = NINTENDO_LOGO
    return bytes(image)


def machine(cart_type, rom_size, ram_size=0, **kwargs) -> GameBoy:
    return GameBoy(banked_rom(cart_type, rom_size, ram_size, **kwargs))


def cpu_write(gb: GameBoy, addr: int, value: int) -> int:
    """The CPU stores ``value`` at ``addr`` (LD A,n ; LD (nn),A run from WRAM); returns events."""
    s = gb.state[0]
    s["wram"][0:5] = [0x3E, value, 0xEA, addr & 0xFF, addr >> 8]
    s["pc"] = 0xC000
    return gb.step(2)


def idle(gb: GameBoy, seconds: float):
    """Let ``seconds`` of emulated time pass with the CPU in a JR -2 loop in WRAM."""
    s = gb.state[0]
    s["wram"][0x100:0x102] = [0x18, 0xFE]
    s["pc"] = 0xC100
    gb.run_cycles(int(seconds * CLOCK_HZ))


def bank_at(gb: GameBoy, base: int) -> int:
    """The number of the ROM bank mapped at ``base`` ($0000 or $4000)."""
    return gb.peek(base + TAG) | gb.peek(base + TAG + 1) << 8


# -- MBC1 --------------------------------------------------------------------------

def test_mbc1_bank1_selects_the_4000_bank_and_zero_means_one():
    gb = machine(MBC1, 512 << 10)
    assert (bank_at(gb, 0), bank_at(gb, 0x4000)) == (0, 1)
    cpu_write(gb, 0x2000, 0x1F)
    assert bank_at(gb, 0x4000) == 0x1F
    cpu_write(gb, 0x3FFF, 0x00)
    assert bank_at(gb, 0x4000) == 1
    cpu_write(gb, 0x2000, 0xE5)           # only 5 bits are kept
    assert bank_at(gb, 0x4000) == 5


def test_mbc1_bank2_extends_the_bank_and_mode_1_maps_it_at_0000():
    gb = machine(MBC1, 2 << 20)
    cpu_write(gb, 0x2000, 0x02)
    cpu_write(gb, 0x4000, 0x03)
    assert (bank_at(gb, 0), bank_at(gb, 0x4000)) == (0, 0x62)
    cpu_write(gb, 0x6000, 0x01)
    assert (bank_at(gb, 0), bank_at(gb, 0x4000)) == (0x60, 0x62)
    cpu_write(gb, 0x2000, 0x00)           # bank $60 cannot be mapped at $4000: $61 is
    assert bank_at(gb, 0x4000) == 0x61


def test_mbc1_ram_needs_enabling_and_banks_only_in_mode_1():
    gb = machine(MBC1_RAM_BATTERY, 64 << 10, 32 << 10)
    cpu_write(gb, 0xA000, 0x11)
    assert gb.peek(0xA000) == 0xFF and not gb.cart_ram.any()
    cpu_write(gb, 0x0000, 0x0A)
    for bank in range(4):
        cpu_write(gb, 0x4000, bank)
        cpu_write(gb, 0xA123, 0x40 + bank)  # mode 0: always bank 0
    assert gb.cart_ram[0x123] == 0x43 and gb.cart_ram[0x2123] == 0
    cpu_write(gb, 0x6000, 0x01)
    for bank in range(4):
        cpu_write(gb, 0x4000, bank)
        cpu_write(gb, 0xA123, 0x50 + bank)
    assert [gb.cart_ram[bank * 0x2000 + 0x123] for bank in range(4)] == [0x50, 0x51, 0x52, 0x53]
    cpu_write(gb, 0x4000, 2)
    assert gb.peek(0xA123) == 0x52 and gb.peek(0xB123) == 0
    cpu_write(gb, 0x0000, 0x00)
    assert gb.peek(0xA123) == 0xFF


def test_mbc1_multicart_wiring_is_detected_from_the_second_logo():
    multicart = machine(MBC1, 1 << 20, second_logo_bank=0x10)
    plain = machine(MBC1, 1 << 20)
    for gb in (multicart, plain):
        cpu_write(gb, 0x2000, 0x12)
        cpu_write(gb, 0x4000, 0x01)
    # MBC1M: BANK2 sits above 4 bits of BANK1; plain MBC1: above all 5.
    assert bank_at(multicart, 0x4000) == 0x12
    assert bank_at(plain, 0x4000) == 0x32
    cpu_write(multicart, 0x2000, 0x10)      # BANK1 is not 0, but its wired bits are
    assert bank_at(multicart, 0x4000) == 0x10
    cpu_write(multicart, 0x4000, 0x03)
    cpu_write(multicart, 0x6000, 0x01)
    assert (bank_at(multicart, 0), bank_at(multicart, 0x4000)) == (0x30, 0x30)


# -- MBC2 --------------------------------------------------------------------------

def test_mbc2_address_bit_8_chooses_rom_bank_or_ram_enable():
    gb = machine(MBC2_BATTERY, 256 << 10)
    cpu_write(gb, 0x2100, 0x05)
    assert bank_at(gb, 0x4000) == 5
    cpu_write(gb, 0x0100, 0x0D)             # bit 8 set below $2000 is ROMB too
    assert bank_at(gb, 0x4000) == 0x0D
    cpu_write(gb, 0x3EFF, 0x0A)             # bit 8 clear above $2000 is RAMG
    assert bank_at(gb, 0x4000) == 0x0D and gb.peek(0xA000) != 0xFF
    cpu_write(gb, 0x2100, 0x00)
    assert bank_at(gb, 0x4000) == 1
    cpu_write(gb, 0x2100, 0x13)             # 4 bits
    assert bank_at(gb, 0x4000) == 3
    cpu_write(gb, 0x4100, 0x07)             # $4000-$7FFF: no register
    cpu_write(gb, 0x6000, 0x00)
    assert bank_at(gb, 0x4000) == 3 and gb.peek(0xA000) != 0xFF


def test_mbc2_ram_is_512_half_bytes_repeated_through_a000_bfff():
    gb = machine(MBC2_BATTERY, 32 << 10)
    assert gb.save_sizes == (512,)
    cpu_write(gb, 0x0000, 0x0A)
    cpu_write(gb, 0xA000, 0xAB)
    cpu_write(gb, 0xA1FF, 0x3C)
    assert gb.peek(0xA000) == 0xFB          # the upper nibble reads as 1s
    assert gb.peek(0xA200) == 0xFB and gb.peek(0xBE00) == 0xFB
    assert gb.peek(0xBFFF) == 0xFC
    cpu_write(gb, 0xB001, 0x07)             # a mirror writes the same cell
    assert gb.peek(0xA001) == 0xF7
    assert list(gb.cart_ram[:2]) == [0x0B, 0x07]
    cpu_write(gb, 0x0000, 0x00)
    assert gb.peek(0xA000) == 0xFF


# -- MBC3 --------------------------------------------------------------------------

def test_mbc3_rom_bank_has_7_bits_and_mbc30_8():
    gb = machine(MBC3, 2 << 20)
    cpu_write(gb, 0x2000, 0x85)
    assert bank_at(gb, 0x4000) == 5
    cpu_write(gb, 0x2000, 0x00)
    assert bank_at(gb, 0x4000) == 1
    cpu_write(gb, 0x2000, 0x60)             # reachable, unlike MBC1's $20/$40/$60
    assert bank_at(gb, 0x4000) == 0x60
    mbc30 = machine(MBC3, 4 << 20)
    cpu_write(mbc30, 0x2000, 0x85)
    assert bank_at(mbc30, 0x4000) == 0x85


@pytest.mark.parametrize("ram_size, banks", [(32 << 10, 4), (64 << 10, 8)])
def test_mbc3_ram_banks(ram_size, banks):
    gb = machine(MBC3_RAM_BATTERY, 64 << 10, ram_size)
    cpu_write(gb, 0x0000, 0x0A)
    for bank in range(banks):
        cpu_write(gb, 0x4000, bank)
        cpu_write(gb, 0xA010, 0x30 + bank)
    for bank in range(banks):
        cpu_write(gb, 0x4000, bank)
        assert gb.peek(0xA010) == 0x30 + bank
    stored = [gb.cart_ram[bank * 0x2000 + 0x10] for bank in range(banks)]
    assert stored == [0x30 + bank for bank in range(banks)]


def rtc_read(gb):
    """Latch the clock (write 0 then 1) and read S, M, H, DL, DH."""
    cpu_write(gb, 0x6000, 0x00)
    cpu_write(gb, 0x6000, 0x01)
    values = []
    for reg in (RTC_S, RTC_M, RTC_H, RTC_DL, RTC_DH):
        cpu_write(gb, 0x4000, reg)
        values.append(gb.peek(0xA000))
    return values


def rtc_set(gb, s, m, h, dl, dh):
    for reg, value in zip((RTC_S, RTC_M, RTC_H, RTC_DL, RTC_DH), (s, m, h, dl, dh)):
        cpu_write(gb, 0x4000, reg)
        cpu_write(gb, 0xA000, value)


def rtc_machine():
    gb = machine(MBC3_RTC_RAM_BATTERY, 64 << 10, 32 << 10)
    cpu_write(gb, 0x0000, 0x0A)
    return gb


def test_mbc3_clock_counts_emulated_seconds_and_latch_freezes_the_copy():
    gb = rtc_machine()
    rtc_set(gb, 58, 59, 23, 0x10, 0)
    idle(gb, 2.5)
    assert rtc_read(gb) == [0, 0, 0, 0x11, 0]
    idle(gb, 1.0)
    cpu_write(gb, 0x4000, RTC_S)
    assert gb.peek(0xA000) == 0             # the latched copy has not moved
    cpu_write(gb, 0x6000, 0x01)             # 1 again without a 0 first: no latch
    assert gb.peek(0xA000) == 0
    cpu_write(gb, 0x6000, 0x00)
    cpu_write(gb, 0x6000, 0x01)
    assert gb.peek(0xA000) == 1


def test_mbc3_day_counter_has_9_bits_and_a_sticky_carry():
    gb = rtc_machine()
    rtc_set(gb, 59, 59, 23, 0xFF, 0x01)     # day 511, 23:59:59
    idle(gb, 1.2)
    assert rtc_read(gb) == [0, 0, 0, 0, DH_CARRY]
    idle(gb, 1.0)
    assert rtc_read(gb)[4] == DH_CARRY      # stays set
    rtc_set(gb, 0, 0, 0, 0xFF, 0x00)        # written 0: cleared
    assert rtc_read(gb)[3:] == [0xFF, 0]


def test_mbc3_halt_stops_the_clock():
    gb = rtc_machine()
    rtc_set(gb, 10, 0, 0, 0, DH_HALT)
    idle(gb, 3.0)
    assert rtc_read(gb) == [10, 0, 0, 0, DH_HALT]
    rtc_set(gb, 10, 0, 0, 0, 0)
    idle(gb, 2.1)
    assert rtc_read(gb)[:2] == [12, 0]


def test_mbc3_out_of_range_counters_wrap_at_their_bit_width_without_carry():
    gb = rtc_machine()
    rtc_set(gb, 0xFF, 5, 0x1F, 0, 0)        # written beyond range: 6 and 5 bits kept
    assert rtc_read(gb)[:3] == [63, 5, 31]
    idle(gb, 1.1)
    assert rtc_read(gb)[:4] == [0, 5, 31, 0]


def test_mbc3_clock_catches_up_on_a_long_absence_at_once():
    gb = rtc_machine()
    rtc_set(gb, 30, 0, 12, 0, 0)
    # Days of emulated time pass while nothing looks at the clock (as after
    # loading a save): one latch brings it up to date.
    gb.state[0]["rtc_clock"] -= (3 * 86_400 + 3600 + 45) * CLOCK_HZ
    assert rtc_read(gb) == [15, 1, 13, 3, 0]


def test_mbc3_without_a_clock_reads_ff_for_clock_registers():
    gb = machine(MBC3_RAM_BATTERY, 64 << 10, 8 << 10)
    cpu_write(gb, 0x0000, 0x0A)
    cpu_write(gb, 0x4000, RTC_S)
    cpu_write(gb, 0xA000, 0x12)
    assert gb.peek(0xA000) == 0xFF and not gb.cart_ram.any()


# -- MBC5 --------------------------------------------------------------------------

def test_mbc5_bank_0_can_be_mapped_at_4000():
    gb = machine(MBC5, 1 << 20)
    assert bank_at(gb, 0x4000) == 1
    cpu_write(gb, 0x2000, 0x00)
    assert bank_at(gb, 0x4000) == 0


def test_mbc5_rom_bank_has_9_bits():
    gb = machine(MBC5, 8 << 20)
    cpu_write(gb, 0x2000, 0x23)
    cpu_write(gb, 0x3000, 0x01)
    assert bank_at(gb, 0x4000) == 0x123
    cpu_write(gb, 0x2FFF, 0xFF)
    assert bank_at(gb, 0x4000) == 0x1FF
    cpu_write(gb, 0x3FFF, 0xFE)             # only bit 0 of ROMB1
    assert bank_at(gb, 0x4000) == 0xFF
    small = machine(MBC5, 1 << 20)          # the bank wraps at the ROM's size
    cpu_write(small, 0x2000, 0x45)
    cpu_write(small, 0x3000, 0x01)
    assert bank_at(small, 0x4000) == 0x05


def test_mbc5_sixteen_ram_banks():
    gb = machine(MBC5_RAM_BATTERY, 64 << 10, 128 << 10)
    cpu_write(gb, 0x0000, 0x0A)
    for bank in range(16):
        cpu_write(gb, 0x4000, bank)
        cpu_write(gb, 0xBFFF, bank + 1)
    assert [gb.cart_ram[b * 0x2000 + 0x1FFF] for b in range(16)] == list(range(1, 17))


def test_mbc5_rumble_bit_drives_the_motor_not_the_ram_bank():
    gb = machine(MBC5_RUMBLE_RAM, 64 << 10, 32 << 10)
    cpu_write(gb, 0x0000, 0x0A)
    cpu_write(gb, 0x4000, 0x01)
    cpu_write(gb, 0xA000, 0x77)
    events = cpu_write(gb, 0x4000, 0x09)    # motor on, still RAM bank 1
    assert gb.rumble and events & hwio.EV_RUMBLE
    assert gb.peek(0xA000) == 0x77
    assert not cpu_write(gb, 0x4000, 0x09) & hwio.EV_RUMBLE     # no change, no event
    events = cpu_write(gb, 0x4000, 0x01)
    assert not gb.rumble and events & hwio.EV_RUMBLE
    plain = machine(MBC5_RAM_BATTERY, 64 << 10, 128 << 10)
    assert not cpu_write(plain, 0x4000, 0x08) & hwio.EV_RUMBLE and not plain.rumble


# -- all of them -------------------------------------------------------------------

def test_power_cycle_keeps_battery_ram_and_loses_the_rest():
    kept = machine(MBC1_RAM_BATTERY, 64 << 10, 8 << 10)
    lost = machine(0x02, 64 << 10, 8 << 10)       # MBC1+RAM, no battery
    for gb in (kept, lost):
        cpu_write(gb, 0x0000, 0x0A)
        cpu_write(gb, 0xA000, 0x5A)
        cpu_write(gb, 0x2000, 0x03)
        gb.reset()
        assert bank_at(gb, 0x4000) == 1   # the controller itself starts over
    assert kept.cart_ram[0] == 0x5A and lost.cart_ram[0] == 0


def test_unsupported_controller_is_refused():
    from gbemu.cartridge import RomError

    with pytest.raises(RomError, match="unsupported cartridge type"):
        GameBoy(banked_rom(0xFF, 64 << 10))       # HuC1
