"""The debugger's register decoder: every DMG I/O register named and its bits put in words.

Known values are decoded by hand from the Pan Docs bit layouts (LCDC, STAT,
TAC, IF/IE, the sound registers, palettes, P1, SC); describe_io must list every
register of REGISTERS with the byte it was handed; describe_ppu reads a machine
record; describe_oam finds which objects are on screen.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from gbemu import GameBoy
from gbemu.core import hwio
from gbemu.core.state import new_state
from gbemu.iodecode import REGISTERS, decode, describe_io, describe_oam, describe_ppu
from tests import romimages

CLOCK_HZ = 4_194_304
EXPECTED_NAMES = (
    "P1 SB SC DIV TIMA TMA TAC IF NR10 NR11 NR12 NR13 NR14 NR21 NR22 NR23 NR24 NR30 NR31 "
    "NR32 NR33 NR34 NR41 NR42 NR43 NR44 NR50 NR51 NR52 WAVE LCDC STAT SCY SCX LY LYC DMA "
    "BGP OBP0 OBP1 WY WX IE").split()


def parts(text):
    return text.split(", ")


def test_registers_are_the_dmg_set_in_address_order():
    assert [name for _, name in REGISTERS] == EXPECTED_NAMES
    addrs = [addr for addr, _ in REGISTERS]
    assert addrs == sorted(addrs)
    assert dict(REGISTERS)[hwio.WAVE_START] == "WAVE"
    for addr, name in REGISTERS:
        assert name == "WAVE" or hwio.IO_NAMES[addr] == name


def test_lcdc():
    assert parts(decode(hwio.LCDC, 0x91)) == [
        "LCD on", "win map $9800", "win off", "tiles $8000", "BG map $9800", "OBJ 8x8",
        "OBJ off", "BG on"]
    assert parts(decode(hwio.LCDC, 0x6E)) == [
        "LCD off", "win map $9C00", "win on", "tiles $8800", "BG map $9C00", "OBJ 8x16",
        "OBJ on", "BG off"]


@pytest.mark.parametrize("mode,name", [(0, "HBlank"), (1, "VBlank"), (2, "OAM scan"),
                                       (3, "drawing")])
def test_stat_mode(mode, name):
    assert parts(decode(hwio.STAT, 0x80 | mode)) == ["int none", "LY!=LYC", f"mode {mode} {name}"]


def test_stat_sources_and_lyc_flag():
    assert parts(decode(hwio.STAT, 0xFC)) == [
        "int LYC+OAM+VBlank+HBlank", "LY=LYC", "mode 0 HBlank"]
    assert decode(hwio.STAT, 0x20 | 0x02).startswith("int OAM, LY!=LYC")


@pytest.mark.parametrize("select,divider", [(0, 1024), (1, 16), (2, 64), (3, 256)])
def test_tac_frequency(select, divider):
    assert decode(hwio.TAC, 0x04 | select) == f"on, {CLOCK_HZ // divider} Hz"
    assert decode(hwio.TAC, 0xF8 | select) == f"off, {CLOCK_HZ // divider} Hz"


def test_tac_05_is_262144_hz():
    assert decode(hwio.TAC, 0x05) == "on, 262144 Hz"


@pytest.mark.parametrize("addr", [hwio.IF, hwio.IE_ADDR])
def test_interrupt_bits(addr):
    names = ["VBlank", "LCD", "Timer", "Serial", "Joypad"]
    for bit, name in enumerate(names):
        assert decode(addr, 0xE0 | (1 << bit)) == name
    assert decode(addr, 0xE5) == "VBlank Timer"
    assert decode(addr, 0x1F) == " ".join(names)
    assert decode(addr, 0xE0) == "none"


def test_nr51_panning():
    assert decode(hwio.NR51, 0xF3) == "ch1 LR ch2 LR ch3 L ch4 L"
    assert decode(hwio.NR51, 0x12) == "ch1 L ch2 R ch3 - ch4 -"
    assert decode(hwio.NR51, 0x88) == "ch1 - ch2 - ch3 - ch4 LR"


def test_nr50_nr52():
    assert parts(decode(hwio.NR50, 0x70)) == ["left 8/8", "right 1/8"]
    assert parts(decode(hwio.NR50, 0x8B)) == ["left 1/8", "right 4/8", "VIN left", "VIN right"]
    assert parts(decode(hwio.NR52, 0xF5)) == ["sound on", "channels 1 3 on"]
    assert parts(decode(hwio.NR52, 0x70)) == ["sound off", "no channel on"]


def test_pulse_channel_fields():
    assert parts(decode(hwio.NR10, 0x2B)) == ["sweep pace 2", "down", "step 3"]
    assert decode(hwio.NR10, 0x0B) == "sweep off"
    assert parts(decode(hwio.NR11, 0x81)) == ["duty 50%", "length 1"]
    assert parts(decode(hwio.NR21, 0xFF)) == ["duty 75%", "length 63"]
    assert parts(decode(hwio.NR12, 0xF3)) == ["volume 15", "env down pace 3"]
    assert parts(decode(hwio.NR22, 0x59)) == ["volume 5", "env up pace 1"]
    assert parts(decode(hwio.NR12, 0x08)) == ["volume 0", "env off"]
    assert decode(hwio.NR42, 0x07) == "DAC off"
    assert parts(decode(hwio.NR14, 0xC5)) == ["trigger", "length on", "period hi 5"]
    assert parts(decode(hwio.NR24, 0x02)) == ["length off", "period hi 2"]
    assert parts(decode(hwio.NR44, 0xC7)) == ["trigger", "length on"]


def test_wave_and_noise_channel_fields():
    assert decode(hwio.NR30, 0x80) == "DAC on"
    assert decode(hwio.NR32, 0x40) == "level 50%"
    assert decode(hwio.NR32, 0x20) == "level 100%"
    # 262144 Hz / (divider * 2^shift), divider 0 counting as 0.5.
    assert decode(hwio.NR43, 0x3A) == "shift 3, 7-bit LFSR, divider 2 (16384 Hz)"
    assert decode(hwio.NR43, 0x10).endswith("(262144 Hz)")
    assert decode(hwio.WAVE_START + 5, 0xA5) == "samples A 5"


def test_readable_only_drops_write_only_fields():
    assert parts(decode(hwio.NR14, 0xBF, readable_only=True)) == ["length off"]
    assert parts(decode(hwio.NR11, 0xBF, readable_only=True)) == ["duty 50%"]
    assert decode(hwio.NR13, 0xFF, readable_only=True) == "write-only"
    assert decode(hwio.NR13, 0x12) == "period lo $12"


def test_palettes():
    assert decode(hwio.BGP, 0xE4) == "0>0 1>1 2>2 3>3"
    assert decode(hwio.BGP, 0x1B) == "0>3 1>2 2>1 3>0"
    assert decode(hwio.OBP0, 0xD2) == "0>2 1>0 2>1 3>3 (0 clear)"


def test_joypad_rows_and_lines():
    assert parts(decode(hwio.P1, 0xDE)) == ["select buttons", "low: A"]
    assert parts(decode(hwio.P1, 0xE7)) == ["select d-pad", "low: Down"]
    assert parts(decode(hwio.P1, 0xCD)) == ["select d-pad+buttons", "low: Left/B"]
    assert parts(decode(hwio.P1, 0xFF)) == ["select none", "no line low"]


def test_serial_control():
    assert parts(decode(hwio.SC, 0x81)) == ["transfer active", "internal clock"]
    assert parts(decode(hwio.SC, 0x7E)) == ["idle", "external clock"]


def test_unknown_address_is_refused():
    with pytest.raises(ValueError, match=r"\$FF03"):
        decode(0xFF03, 0)


def test_describe_io_lists_every_register_with_the_byte_read():
    values = {addr: (addr * 7 + 3) & 0xFF for addr in range(hwio.IO_BASE, 0x10000)}
    asked = []

    def read(addr):
        asked.append(addr)
        return values[addr]

    lines = describe_io(read)
    assert len(lines) == len(REGISTERS)
    wave = list(range(hwio.WAVE_START, hwio.WAVE_END))
    assert sorted(asked) == sorted([a for a, _ in REGISTERS if a != hwio.WAVE_START] + wave)
    columns = set()
    for line, (addr, name) in zip(lines, REGISTERS):
        assert line.split()[:2] == [f"${addr:04X}", name]
        if name == "WAVE":
            assert line.split()[2:] == [f"{values[a]:02X}" for a in wave]
            continue
        value = values[addr]
        match = re.match(r"\$[0-9A-F]{4} +\w+ +\$([0-9A-F]{2})  (.*)$", line)
        assert int(match.group(1), 16) == value
        assert match.group(2) == decode(addr, value, readable_only=True)
        columns.add(match.start(2))
    assert len(columns) == 1                  # the decoded text starts in one column


def test_describe_ppu_reads_the_record():
    st = new_state()
    s = st[0]
    s["ppu_mode"] = 3
    s["ppu_line"] = 42
    s["ppu_dot"] = 123
    s["window_line"] = 17
    s["frames"] = 99
    s["stat_line"] = 1
    s["io"][hwio.LY - hwio.IO_BASE] = 42
    s["io"][hwio.LCDC - hwio.IO_BASE] = 0x91
    s["io"][hwio.SCX - hwio.IO_BASE] = 5
    s["io"][hwio.WX - hwio.IO_BASE] = 77
    text = "\n".join(describe_ppu(s))
    for piece in ("mode 3 (drawing)", "line 42", "LY 42", "dot 123", "window line 17",
                  "frames 99", "interrupt line high", "SCX 5", "WX 77",
                  decode(hwio.LCDC, 0x91)):
        assert piece in text


def test_describe_oam_positions_flags_and_visibility():
    oam = np.zeros(160, np.uint8)
    oam[0:4] = (16, 8, 0x13, 0xF0)      # top-left corner, every flag, OBP1
    oam[4:8] = (8, 50, 0x02, 0x00)      # top half above the screen: visible only if 8x16
    oam[8:12] = (160, 168, 0x00, 0x00)  # just past the bottom-right corner
    lines = describe_oam(oam, 0x80)
    assert len(lines) == 41
    first = lines[1].split()
    assert first[:6] == ["0", "$10", "$08", "0,", "0", "*"]
    assert lines[1].endswith("behind BG, Y flip, X flip, OBP1")
    assert "$13" in lines[1]
    assert "*" not in lines[2] and "*" not in lines[3]
    assert lines[2].split()[3:5] == ["42,", "-8"]
    assert lines[2].endswith("OBP0")
    tall = describe_oam(oam, 0x84)
    assert "*" in tall[2] and "$02+03" in tall[2] and "$12+13" in tall[1]


def test_describe_io_and_ppu_on_a_running_machine():
    gb = GameBoy(romimages.build_rom())
    gb.run_frames(2)
    gb.sync()
    lines = {line.split()[1]: line for line in describe_io(gb.read_io)}
    lcdc = gb.read_io(hwio.LCDC)
    assert lines["LCDC"].split()[2] == f"${lcdc:02X}"
    assert lines["LCDC"].endswith(decode(hwio.LCDC, lcdc))
    ly = gb.read_io(hwio.LY)
    assert f"LY {ly} " in describe_ppu(gb.state[0])[0]
