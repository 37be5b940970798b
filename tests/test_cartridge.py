"""Tests for gbemu.cartridge: header decoding and the checks load_rom makes on ROM files.

Every image here is built in memory; the one exception is the sweep over the shared ROM
collection, which is skipped when that folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gbemu import cartridge
from gbemu.cartridge import (
    CARTRIDGE_TYPES,
    HEADER_SIZE,
    MAPPERS,
    NINTENDO_LOGO,
    Header,
    RomError,
    compute_header_checksum,
    load_rom,
    parse_header,
)

ALL_MAPPERS = tuple(MAPPERS)
DEFAULT_ROM_FOLDER = Path(__file__).resolve().parents[1].parent / 'shared' / 'roms'
ROM_SUFFIXES = {'.gb', '.gbc', '.sgb'}


def reference_checksum(image: bytes | bytearray) -> int:
    """The header checksum written as a closed form, independent of the module's loop."""
    return (-sum(image[0x134:0x14D]) - (0x14D - 0x134)) & 0xFF


def make_image(
    title: bytes = b'TESTGAME',
    cart_type: int = 0x00,
    rom_size_code: int = 0x00,
    ram_size_code: int = 0x00,
    cgb_flag: int = 0x00,
    sgb_flag: int = 0x00,
    old_licensee: int = 0x01,
    new_licensee: bytes = b'\x00\x00',
    destination: int = 0x01,
    version: int = 0x00,
    global_checksum: int = 0x1234,
    length: int | None = None,
    fix_checksum: bool = True,
) -> bytearray:
    """A synthetic cartridge image with a valid logo and, by default, a valid checksum.

    The image is as long as the ROM size code says unless `length` overrides it.
    """
    if length is None:
        length = (32 * 1024) << rom_size_code
    image = bytearray(max(length, HEADER_SIZE))
    image[0x100:0x104] = b'\x00\xC3\x50\x01'  # NOP; JP $0150
    image[0x104:0x134] = NINTENDO_LOGO
    image[0x143] = cgb_flag
    image[0x134:0x134 + len(title)] = title  # a 16-byte title covers the CGB flag byte
    image[0x144:0x146] = new_licensee
    image[0x146] = sgb_flag
    image[0x147] = cart_type
    image[0x148] = rom_size_code
    image[0x149] = ram_size_code
    image[0x14A] = destination
    image[0x14B] = old_licensee
    image[0x14C] = version
    if fix_checksum:
        image[0x14D] = reference_checksum(image)
    image[0x14E:0x150] = global_checksum.to_bytes(2, 'big')
    return image[:length]


def write_rom(tmp_path: Path, image: bytes | bytearray, name: str = 'game.gb') -> Path:
    rom_path = tmp_path / name
    rom_path.write_bytes(bytes(image))
    return rom_path


def assert_one_line_naming(error: RomError, rom_path: Path | str, reason_part: str) -> None:
    message = str(error)
    assert '\n' not in message
    assert message.startswith(f'{rom_path}: ')
    assert reason_part in message
    assert error.path == str(rom_path)
    assert reason_part in error.reason


# --- the logo and the checksum ---------------------------------------------------------------

def test_logo_constant_is_the_48_byte_bitmap():
    assert len(NINTENDO_LOGO) == 48
    assert NINTENDO_LOGO[:4] == bytes.fromhex('CEED6666')
    assert NINTENDO_LOGO[-4:] == bytes.fromhex('BBB9333E')


def test_checksum_of_an_all_zero_header_area():
    # 25 bytes of zero: each step subtracts one, so the result is -25 mod 256.
    assert compute_header_checksum(bytes(HEADER_SIZE)) == 0xE7


def test_checksum_matches_closed_form_for_varied_bytes():
    image = bytearray(HEADER_SIZE)
    for address in range(0x134, 0x14D):
        image[address] = (address * 37 + 11) & 0xFF
    assert compute_header_checksum(image) == reference_checksum(image)


def test_checksum_ignores_bytes_outside_its_range():
    image = make_image()
    before = compute_header_checksum(image)
    image[0x133] ^= 0xFF
    image[0x14D] ^= 0xFF
    image[0x14F] ^= 0xFF
    assert compute_header_checksum(image) == before


# --- header fields ---------------------------------------------------------------------------

def test_good_header_fields():
    image = make_image(
        title=b'MYGAME',
        cart_type=0x03,
        rom_size_code=0x02,
        ram_size_code=0x03,
        sgb_flag=0x03,
        old_licensee=0x01,
        destination=0x00,
        version=0x02,
        global_checksum=0xBEEF,
    )
    header = parse_header(image, 'game.gb')
    assert isinstance(header, Header)
    assert header.title == 'MYGAME'
    assert header.cgb_flag == 0x00
    assert header.cgb_mode == 'dmg'
    assert header.sgb is True
    assert header.cart_type == 0x03
    assert header.cart_type_name == 'MBC1+RAM+BATTERY'
    assert header.mapper == 'mbc1'
    assert (header.has_ram, header.has_battery, header.has_rtc, header.has_rumble) == (
        True, True, False, False
    )
    assert header.rom_size == 128 * 1024
    assert header.rom_banks == 8
    assert header.ram_size == 32 * 1024
    assert header.ram_banks == 4
    assert header.header_checksum == header.computed_checksum == reference_checksum(image)
    assert header.checksum_ok is True
    assert header.global_checksum == 0xBEEF
    assert header.licensee == '01'
    assert header.destination == 0x00
    assert header.destination_name == 'Japan'
    assert header.version == 0x02


def test_header_is_frozen():
    header = parse_header(make_image())
    with pytest.raises(AttributeError):
        header.title = 'OTHER'


def test_sgb_flag_needs_exactly_three():
    assert parse_header(make_image(sgb_flag=0x00)).sgb is False
    assert parse_header(make_image(sgb_flag=0x01)).sgb is False


def test_new_licensee_code_used_when_old_code_is_33():
    header = parse_header(make_image(old_licensee=0x33, new_licensee=b'8P'))
    assert header.licensee == '8P'


def test_title_uses_all_16_bytes_without_cgb_flag():
    header = parse_header(make_image(title=b'SIXTEEN-LETTERS!'))
    assert header.title == 'SIXTEEN-LETTERS!'


@pytest.mark.parametrize(
    ('cgb_flag', 'mode'), [(0x80, 'cgb-enhanced'), (0xC0, 'cgb-only')]
)
def test_cgb_flag_shortens_title_to_11_bytes(cgb_flag, mode):
    # The 15 title bytes run into $013F-$0142, which a CGB header uses for other things.
    image = make_image(title=b'ELEVENCHARSMANU', cgb_flag=cgb_flag)
    header = parse_header(image)
    assert header.title == 'ELEVENCHARS'
    assert header.cgb_flag == cgb_flag
    assert header.cgb_mode == mode


def test_title_is_trimmed_of_padding():
    header = parse_header(make_image(title=b'  PADDED  \x00\x00'))
    assert header.title == 'PADDED'


def test_title_stops_at_first_nul():
    header = parse_header(make_image(title=b'FOO\x00\x00BAR'))
    assert header.title == 'FOO'


def test_empty_title():
    assert parse_header(make_image(title=b'')).title == ''


@pytest.mark.parametrize(
    ('code', 'size'),
    [(code, (32 * 1024) << code) for code in range(9)],
)
def test_rom_size_codes(code, size):
    header = parse_header(make_image(rom_size_code=code, length=HEADER_SIZE))
    assert header.rom_size == size


@pytest.mark.parametrize(
    ('code', 'size'),
    [(0, 0), (1, 0), (2, 8 * 1024), (3, 32 * 1024), (4, 128 * 1024), (5, 64 * 1024)],
)
def test_ram_size_codes(code, size):
    assert parse_header(make_image(ram_size_code=code)).ram_size == size


@pytest.mark.parametrize(
    ('cart_type', 'name', 'mapper', 'flags'),
    [
        (0x00, 'ROM ONLY', 'none', (False, False, False, False)),
        (0x01, 'MBC1', 'mbc1', (False, False, False, False)),
        (0x02, 'MBC1+RAM', 'mbc1', (True, False, False, False)),
        (0x05, 'MBC2', 'mbc2', (True, False, False, False)),
        (0x06, 'MBC2+BATTERY', 'mbc2', (True, True, False, False)),
        (0x08, 'ROM+RAM', 'none', (True, False, False, False)),
        (0x09, 'ROM+RAM+BATTERY', 'none', (True, True, False, False)),
        (0x0B, 'MMM01', 'mmm01', (False, False, False, False)),
        (0x0D, 'MMM01+RAM+BATTERY', 'mmm01', (True, True, False, False)),
        (0x0F, 'MBC3+TIMER+BATTERY', 'mbc3', (False, True, True, False)),
        (0x10, 'MBC3+TIMER+RAM+BATTERY', 'mbc3', (True, True, True, False)),
        (0x13, 'MBC3+RAM+BATTERY', 'mbc3', (True, True, False, False)),
        (0x19, 'MBC5', 'mbc5', (False, False, False, False)),
        (0x1B, 'MBC5+RAM+BATTERY', 'mbc5', (True, True, False, False)),
        (0x1C, 'MBC5+RUMBLE', 'mbc5', (False, False, False, True)),
        (0x1E, 'MBC5+RUMBLE+RAM+BATTERY', 'mbc5', (True, True, False, True)),
        (0x20, 'MBC6', 'mbc6', None),
        (0x22, 'MBC7+SENSOR+RUMBLE+RAM+BATTERY', 'mbc7', (True, True, False, True)),
        (0xFC, 'POCKET CAMERA', 'camera', None),
        (0xFD, 'BANDAI TAMA5', 'tama5', None),
        (0xFE, 'HuC3', 'huc3', None),
        (0xFF, 'HuC1+RAM+BATTERY', 'huc1', (True, True, False, False)),
    ],
)
def test_cartridge_types(cart_type, name, mapper, flags):
    header = parse_header(make_image(cart_type=cart_type))
    assert header.cart_type_name == name
    assert header.mapper == mapper
    if flags is not None:
        assert (header.has_ram, header.has_battery, header.has_rtc, header.has_rumble) == flags


def test_mbc2_has_ram_although_ram_size_is_zero():
    header = parse_header(make_image(cart_type=0x05, ram_size_code=0x00))
    assert header.has_ram is True
    assert header.ram_size == 0


def test_every_type_maps_to_a_known_mapper():
    assert {kind.mapper for kind in CARTRIDGE_TYPES.values()} == set(MAPPERS)


def test_parse_accepts_bytearray_and_memoryview():
    image = make_image(title=b'VIEW')
    assert parse_header(memoryview(bytes(image))).title == 'VIEW'
    assert parse_header(bytes(image)).title == 'VIEW'


def test_unknown_type_parses_but_is_marked_unknown():
    header = parse_header(make_image(cart_type=0x5A))
    assert header.mapper == 'unknown'
    assert '$5A' in header.cart_type_name


# --- parse_header errors ---------------------------------------------------------------------

def test_parse_rejects_data_shorter_than_header():
    with pytest.raises(RomError) as caught:
        parse_header(bytes(HEADER_SIZE - 1), 'short.gb')
    assert_one_line_naming(caught.value, 'short.gb', 'truncated')
    assert '$0150' in str(caught.value)


def test_parse_rejects_missing_logo():
    image = make_image()
    image[0x110] ^= 0x01
    with pytest.raises(RomError) as caught:
        parse_header(image, 'game.gb')
    assert str(caught.value) == 'game.gb: not a Game Boy ROM (no Nintendo logo at $0104)'


def test_parse_default_path_name():
    with pytest.raises(RomError) as caught:
        parse_header(b'')
    assert caught.value.path == '<rom>'


# --- load_rom success and warnings -----------------------------------------------------------

def test_load_good_rom(tmp_path):
    image = make_image(title=b'LOADME', cart_type=0x01, rom_size_code=0x01)
    rom_path = write_rom(tmp_path, image)
    data, header, warnings = load_rom(rom_path)
    assert data == bytes(image)
    assert isinstance(data, bytes)
    assert header.title == 'LOADME'
    assert header.mapper == 'mbc1'
    assert warnings == []


def test_load_accepts_str_path(tmp_path):
    rom_path = write_rom(tmp_path, make_image())
    _, header, warnings = load_rom(str(rom_path))
    assert header.mapper == 'none'
    assert warnings == []


def test_checksum_mismatch_is_a_warning_not_an_error(tmp_path):
    image = make_image()
    good = image[0x14D]
    image[0x14D] = (good + 1) & 0xFF
    rom_path = write_rom(tmp_path, image)
    _, header, warnings = load_rom(rom_path)
    assert header.checksum_ok is False
    assert header.computed_checksum == good
    assert len(warnings) == 1
    expected = (
        f'{rom_path}: header checksum ${image[0x14D]:02X} does not match computed ${good:02X}'
    )
    assert warnings[0].startswith(expected)
    assert '\n' not in warnings[0]


def test_file_larger_than_header_size_is_a_warning(tmp_path):
    image = make_image(rom_size_code=0x00, length=64 * 1024)
    rom_path = write_rom(tmp_path, image)
    data, header, warnings = load_rom(rom_path)
    assert len(data) == 64 * 1024
    assert header.rom_size == 32 * 1024
    assert len(warnings) == 1
    assert warnings[0].startswith(f'{rom_path}: ')
    assert '64 KiB' in warnings[0] and '32 KiB' in warnings[0]


def test_unknown_ram_size_code_is_a_warning(tmp_path):
    rom_path = write_rom(tmp_path, make_image(ram_size_code=0x07))
    _, header, warnings = load_rom(rom_path)
    assert header.ram_size == 0
    assert header.ram_size_code == 0x07
    assert len(warnings) == 1
    assert '$07' in warnings[0]


def test_load_rom_prints_nothing(tmp_path, capsys):
    image = make_image(fix_checksum=False, length=64 * 1024)
    load_rom(write_rom(tmp_path, image))
    captured = capsys.readouterr()
    assert captured.out == '' and captured.err == ''


# --- load_rom errors -------------------------------------------------------------------------

def test_missing_file(tmp_path):
    rom_path = tmp_path / 'x.gb'
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert str(caught.value) == f'{rom_path}: no such file'
    assert caught.value.reason == 'no such file'


def test_directory(tmp_path):
    folder = tmp_path / 'x'
    folder.mkdir()
    with pytest.raises(RomError) as caught:
        load_rom(folder)
    assert str(caught.value) == f'{folder}: is a directory'


@pytest.mark.skipif(
    not hasattr(os, 'geteuid') or os.geteuid() == 0,
    reason='file permissions do not stop root (or this platform) from reading',
)
def test_unreadable_file(tmp_path):
    rom_path = write_rom(tmp_path, make_image())
    rom_path.chmod(0)
    try:
        with pytest.raises(RomError) as caught:
            load_rom(rom_path)
    finally:
        rom_path.chmod(0o644)
    assert_one_line_naming(caught.value, rom_path, 'permission denied')


def test_permission_error_is_reported(tmp_path, monkeypatch):
    rom_path = write_rom(tmp_path, make_image())

    def refuse(*args, **kwargs):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr(cartridge, 'open', refuse, raising=False)
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert str(caught.value) == f'{rom_path}: permission denied'


def test_other_read_failure_is_reported(tmp_path, monkeypatch):
    rom_path = write_rom(tmp_path, make_image())

    def fail(*args, **kwargs):
        raise OSError(5, 'Input/output error')

    monkeypatch.setattr(cartridge, 'open', fail, raising=False)
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert_one_line_naming(caught.value, rom_path, 'Input/output error')


def test_empty_file(tmp_path):
    rom_path = write_rom(tmp_path, b'')
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert str(caught.value) == f'{rom_path}: file is empty'


def test_file_shorter_than_header(tmp_path):
    rom_path = write_rom(tmp_path, make_image()[:0x14F])
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert str(caught.value) == (
        f'{rom_path}: truncated: 335 bytes is less than a header ($0150 bytes)'
    )


def test_not_a_game_boy_rom(tmp_path):
    rom_path = write_rom(tmp_path, b'PK\x03\x04' + bytes(0x1000))
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert str(caught.value) == f'{rom_path}: not a Game Boy ROM (no Nintendo logo at $0104)'


def test_unknown_cartridge_type(tmp_path):
    rom_path = write_rom(tmp_path, make_image(cart_type=0x5A))
    with pytest.raises(RomError) as caught:
        load_rom(rom_path, supported_mappers=ALL_MAPPERS)
    assert str(caught.value) == f'{rom_path}: unknown cartridge type $5A'


def test_unsupported_mapper(tmp_path):
    rom_path = write_rom(tmp_path, make_image(cart_type=0xFC))
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert str(caught.value) == f'{rom_path}: unsupported cartridge type $FC (POCKET CAMERA)'


def test_supported_mappers_argument_widens_the_set(tmp_path):
    rom_path = write_rom(tmp_path, make_image(cart_type=0x13, rom_size_code=0x01))
    with pytest.raises(RomError):
        load_rom(rom_path)
    _, header, _ = load_rom(rom_path, supported_mappers=('none', 'mbc1', 'mbc3'))
    assert header.mapper == 'mbc3'


def test_file_smaller_than_header_rom_size(tmp_path):
    image = make_image(cart_type=0x01, rom_size_code=0x03, length=64 * 1024)
    rom_path = write_rom(tmp_path, image)
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert str(caught.value) == f'{rom_path}: truncated: header says 256 KiB, file has 64 KiB'


def test_unknown_rom_size_code(tmp_path):
    rom_path = write_rom(tmp_path, make_image(rom_size_code=0x52, length=32 * 1024))
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert_one_line_naming(caught.value, rom_path, 'unknown ROM size code $52')


def test_file_far_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(cartridge, 'MAX_FILE_SIZE', 64 * 1024)
    rom_path = write_rom(tmp_path, make_image(length=64 * 1024 + 1))
    with pytest.raises(RomError) as caught:
        load_rom(rom_path)
    assert_one_line_naming(caught.value, rom_path, 'too large')


# --- the shared ROM collection ---------------------------------------------------------------

def test_every_rom_in_collection_parses():
    folder = Path(os.environ.get('GBEMU_TEST_ROMS', DEFAULT_ROM_FOLDER))
    if not folder.is_dir():
        pytest.skip(f'ROM folder {folder} not found (set GBEMU_TEST_ROMS to point at one)')
    rom_paths = sorted(
        path for path in folder.rglob('*')
        if path.suffix.lower() in ROM_SUFFIXES and path.is_file()
    )
    if not rom_paths:
        pytest.skip(f'no .gb/.gbc/.sgb files under {folder}')

    problems = []
    for rom_path in rom_paths:
        try:
            _, header, _ = load_rom(rom_path, supported_mappers=ALL_MAPPERS)
        except RomError as error:
            problems.append(str(error))
            continue
        if not header.checksum_ok:
            problems.append(f'{rom_path}: header checksum mismatch')
        if header.mapper not in MAPPERS:
            problems.append(f'{rom_path}: unexpected mapper {header.mapper!r}')
    assert not problems, '\n'.join(problems)
