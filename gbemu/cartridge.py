"""Game Boy cartridge images: reading a ROM file and decoding its header.

A cartridge image is the raw contents of the cartridge ROM. Bytes $0100-$014F hold the
cartridge header, described in Pan Docs ("The Cartridge Header"): the Nintendo logo that the
boot ROM compares before it starts the game, the title, the Color/Super Game Boy flags, the
cartridge type (which memory bank controller, or mapper, sits on the cartridge and which extras
such as battery-backed RAM, a real-time clock or a rumble motor it has), the ROM and RAM sizes,
and two checksums.

This module only reads and checks that header; it does not emulate any mapper.

- `parse_header` decodes a `Header` from image bytes already in memory.
- `load_rom` reads a file, decodes its header and checks that the emulator can run it.

Every problem is reported as a `RomError` whose message is a single line naming the file,
suitable for printing as-is. Problems that do not stop the game from running (a wrong header
checksum, a file longer than its header claims) come back from `load_rom` as warning strings;
nothing here prints or logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    'NINTENDO_LOGO',
    'HEADER_SIZE',
    'MAPPERS',
    'CARTRIDGE_TYPES',
    'CartridgeType',
    'RomError',
    'Header',
    'compute_header_checksum',
    'parse_header',
    'load_rom',
]

# The bitmap the boot ROM draws at power-on; it refuses to start a cartridge whose copy at
# $0104-$0133 differs from its own.
NINTENDO_LOGO = bytes.fromhex(
    'CEED6666CC0D000B03730083000C000D'
    '0008111F8889000EDCCC6EE6DDDDD999'
    'BBBB67636E0EECCCDDDC999FBBB9333E'
)

LOGO_START = 0x0104
LOGO_END = LOGO_START + len(NINTENDO_LOGO)
TITLE_START = 0x0134
TITLE_END = 0x0144
CGB_TITLE_END = 0x013F
NEW_LICENSEE_START = 0x0144
CGB_FLAG_ADDRESS = 0x0143
SGB_FLAG_ADDRESS = 0x0146
CART_TYPE_ADDRESS = 0x0147
ROM_SIZE_ADDRESS = 0x0148
RAM_SIZE_ADDRESS = 0x0149
DESTINATION_ADDRESS = 0x014A
OLD_LICENSEE_ADDRESS = 0x014B
VERSION_ADDRESS = 0x014C
HEADER_CHECKSUM_ADDRESS = 0x014D
GLOBAL_CHECKSUM_ADDRESS = 0x014E

# Everything up to and including the global checksum; a shorter file has no complete header.
HEADER_SIZE = 0x0150

# The old licensee code that means "look at the two-character new licensee code instead".
USE_NEW_LICENSEE = 0x33

CGB_ENHANCED = 0x80
CGB_ONLY = 0xC0

ROM_BANK_SIZE = 16 * 1024
RAM_BANK_SIZE = 8 * 1024

# $0148 codes 0..8 mean 32 KiB shifted left by the code.
ROM_SIZE_BY_CODE = {code: (32 * 1024) << code for code in range(9)}

# $0149 codes. Code 1 appears in some unofficial lists as 2 KiB, but no cartridge ever had
# such a chip, so it is treated as "no RAM".
RAM_SIZE_BY_CODE = {
    0x00: 0,
    0x01: 0,
    0x02: 8 * 1024,
    0x03: 32 * 1024,
    0x04: 128 * 1024,
    0x05: 64 * 1024,
}

DESTINATION_NAMES = {0x00: 'Japan', 0x01: 'overseas'}

# Largest file load_rom agrees to read: twice the biggest size a header can declare (8 MiB),
# which leaves room for over-dumped images while refusing to slurp an unrelated huge file.
MAX_FILE_SIZE = 2 * ROM_SIZE_BY_CODE[8]

MAPPERS = (
    'none', 'mbc1', 'mbc2', 'mbc3', 'mbc5', 'mmm01', 'mbc6', 'mbc7',
    'camera', 'tama5', 'huc3', 'huc1',
)


class CartridgeType(NamedTuple):
    """What a cartridge type code at $0147 says is on the cartridge."""

    name: str
    mapper: str
    has_ram: bool = False
    has_battery: bool = False
    has_rtc: bool = False
    has_rumble: bool = False


# Cartridge type codes from Pan Docs. The flags follow the names, plus the hardware the names
# leave implicit: MBC2 has RAM inside the controller, the Pocket Camera carries battery-backed
# RAM for its photos, and the HuC3 and TAMA5 have a clock.
CARTRIDGE_TYPES = {
    0x00: CartridgeType('ROM ONLY', 'none'),
    0x01: CartridgeType('MBC1', 'mbc1'),
    0x02: CartridgeType('MBC1+RAM', 'mbc1', has_ram=True),
    0x03: CartridgeType('MBC1+RAM+BATTERY', 'mbc1', has_ram=True, has_battery=True),
    0x05: CartridgeType('MBC2', 'mbc2', has_ram=True),
    0x06: CartridgeType('MBC2+BATTERY', 'mbc2', has_ram=True, has_battery=True),
    0x08: CartridgeType('ROM+RAM', 'none', has_ram=True),
    0x09: CartridgeType('ROM+RAM+BATTERY', 'none', has_ram=True, has_battery=True),
    0x0B: CartridgeType('MMM01', 'mmm01'),
    0x0C: CartridgeType('MMM01+RAM', 'mmm01', has_ram=True),
    0x0D: CartridgeType('MMM01+RAM+BATTERY', 'mmm01', has_ram=True, has_battery=True),
    0x0F: CartridgeType('MBC3+TIMER+BATTERY', 'mbc3', has_battery=True, has_rtc=True),
    0x10: CartridgeType(
        'MBC3+TIMER+RAM+BATTERY', 'mbc3', has_ram=True, has_battery=True, has_rtc=True
    ),
    0x11: CartridgeType('MBC3', 'mbc3'),
    0x12: CartridgeType('MBC3+RAM', 'mbc3', has_ram=True),
    0x13: CartridgeType('MBC3+RAM+BATTERY', 'mbc3', has_ram=True, has_battery=True),
    0x19: CartridgeType('MBC5', 'mbc5'),
    0x1A: CartridgeType('MBC5+RAM', 'mbc5', has_ram=True),
    0x1B: CartridgeType('MBC5+RAM+BATTERY', 'mbc5', has_ram=True, has_battery=True),
    0x1C: CartridgeType('MBC5+RUMBLE', 'mbc5', has_rumble=True),
    0x1D: CartridgeType('MBC5+RUMBLE+RAM', 'mbc5', has_ram=True, has_rumble=True),
    0x1E: CartridgeType(
        'MBC5+RUMBLE+RAM+BATTERY', 'mbc5', has_ram=True, has_battery=True, has_rumble=True
    ),
    0x20: CartridgeType('MBC6', 'mbc6'),
    0x22: CartridgeType(
        'MBC7+SENSOR+RUMBLE+RAM+BATTERY', 'mbc7',
        has_ram=True, has_battery=True, has_rumble=True,
    ),
    0xFC: CartridgeType('POCKET CAMERA', 'camera', has_ram=True, has_battery=True),
    0xFD: CartridgeType('BANDAI TAMA5', 'tama5', has_rtc=True),
    0xFE: CartridgeType('HuC3', 'huc3', has_ram=True, has_battery=True, has_rtc=True),
    0xFF: CartridgeType('HuC1+RAM+BATTERY', 'huc1', has_ram=True, has_battery=True),
}


class RomError(Exception):
    """A cartridge image that cannot be loaded.

    `str()` gives one line, "<path>: <reason>"; `path` and `reason` hold the two parts.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'{path}: {reason}')
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Header:
    """The decoded cartridge header ($0100-$014F) of one image.

    Sizes are in bytes. `rom_size` is 0 when the ROM size code at $0148 is not one Pan Docs
    defines, and `ram_size` is 0 when the RAM size code at $0149 is undefined; the raw codes
    are kept in `rom_size_code` and `ram_size_code`. `ram_size` counts external RAM chips only,
    so it stays 0 for MBC2, whose 512 half-byte cells live inside the controller.
    """

    title: str
    cgb_flag: int
    cgb_mode: str
    sgb: bool
    cart_type: int
    cart_type_name: str
    mapper: str
    has_ram: bool
    has_battery: bool
    has_rtc: bool
    has_rumble: bool
    rom_size: int
    ram_size: int
    header_checksum: int
    computed_checksum: int
    checksum_ok: bool
    global_checksum: int
    licensee: str
    destination: int
    version: int
    rom_size_code: int
    ram_size_code: int

    @property
    def rom_banks(self) -> int:
        """Number of 16 KiB ROM banks the header declares."""
        return self.rom_size // ROM_BANK_SIZE

    @property
    def ram_banks(self) -> int:
        """Number of 8 KiB external RAM banks the header declares."""
        return self.ram_size // RAM_BANK_SIZE

    @property
    def destination_name(self) -> str:
        """'Japan', 'overseas', or the raw code for any other value at $014A."""
        return DESTINATION_NAMES.get(self.destination, f'unknown (${self.destination:02X})')


def compute_header_checksum(data: bytes) -> int:
    """The checksum the boot ROM computes over $0134-$014C and compares with $014D."""
    checksum = 0
    for address in range(TITLE_START, HEADER_CHECKSUM_ADDRESS):
        checksum = (checksum - data[address] - 1) & 0xFF
    return checksum


def _printable(raw: bytes) -> str:
    """ASCII text of raw bytes with anything unprintable shown as '?'."""
    return ''.join(chr(byte) if 0x20 <= byte < 0x7F else '?' for byte in raw)


def _decode_title(field: bytes) -> str:
    """Title text: padding NULs and spaces removed, and nothing after the first inner NUL."""
    text = field.lstrip(b'\x00 ').split(b'\x00', 1)[0]
    return _printable(text).strip()


def _cgb_mode(cgb_flag: int) -> str:
    if cgb_flag == CGB_ONLY:
        return 'cgb-only'
    if cgb_flag == CGB_ENHANCED:
        return 'cgb-enhanced'
    return 'dmg'


def _licensee(header: bytes) -> str:
    """The publisher code: two hex digits of the old code, or the two-character new code."""
    old_code = header[OLD_LICENSEE_ADDRESS]
    if old_code == USE_NEW_LICENSEE:
        return _printable(header[NEW_LICENSEE_START:NEW_LICENSEE_START + 2])
    return f'{old_code:02X}'


def _format_size(size: int) -> str:
    if size and size % 1024 == 0:
        return f'{size // 1024} KiB'
    return f'{size} byte' if size == 1 else f'{size} bytes'


def parse_header(data: bytes, path: str = '<rom>') -> Header:
    """Decode the cartridge header of an image held in memory.

    `data` is the image (bytes, bytearray, memoryview or a uint8 array); `path` only names the
    image in error messages. Raises `RomError` if the image is shorter than a header or lacks
    the Nintendo logo. An unknown cartridge type code is not an error here: the header then
    reports mapper 'unknown' and a name like 'unknown $5A' (`load_rom` rejects it).
    """
    path = os.fspath(path)
    if len(data) < HEADER_SIZE:
        raise RomError(
            path,
            f'truncated: {_format_size(len(data))} is less than a header '
            f'(${HEADER_SIZE:04X} bytes)',
        )
    header = bytes(data[:HEADER_SIZE])
    if header[LOGO_START:LOGO_END] != NINTENDO_LOGO:
        raise RomError(path, f'not a Game Boy ROM (no Nintendo logo at ${LOGO_START:04X})')

    cgb_flag = header[CGB_FLAG_ADDRESS]
    title_end = CGB_TITLE_END if cgb_flag in (CGB_ENHANCED, CGB_ONLY) else TITLE_END

    cart_type = header[CART_TYPE_ADDRESS]
    kind = CARTRIDGE_TYPES.get(cart_type, CartridgeType(f'unknown ${cart_type:02X}', 'unknown'))

    rom_size_code = header[ROM_SIZE_ADDRESS]
    ram_size_code = header[RAM_SIZE_ADDRESS]
    stored_checksum = header[HEADER_CHECKSUM_ADDRESS]
    computed_checksum = compute_header_checksum(header)

    return Header(
        title=_decode_title(header[TITLE_START:title_end]),
        cgb_flag=cgb_flag,
        cgb_mode=_cgb_mode(cgb_flag),
        sgb=header[SGB_FLAG_ADDRESS] == 0x03,
        cart_type=cart_type,
        cart_type_name=kind.name,
        mapper=kind.mapper,
        has_ram=kind.has_ram,
        has_battery=kind.has_battery,
        has_rtc=kind.has_rtc,
        has_rumble=kind.has_rumble,
        rom_size=ROM_SIZE_BY_CODE.get(rom_size_code, 0),
        ram_size=RAM_SIZE_BY_CODE.get(ram_size_code, 0),
        header_checksum=stored_checksum,
        computed_checksum=computed_checksum,
        checksum_ok=stored_checksum == computed_checksum,
        global_checksum=int.from_bytes(
            header[GLOBAL_CHECKSUM_ADDRESS:GLOBAL_CHECKSUM_ADDRESS + 2], 'big'
        ),
        licensee=_licensee(header),
        destination=header[DESTINATION_ADDRESS],
        version=header[VERSION_ADDRESS],
        rom_size_code=rom_size_code,
        ram_size_code=ram_size_code,
    )


def _read_image(path: str) -> bytes:
    """Read a whole file, turning every way that can fail into a RomError."""
    try:
        with open(path, 'rb') as image_file:
            data = image_file.read(MAX_FILE_SIZE + 1)
    except FileNotFoundError:
        raise RomError(path, 'no such file') from None
    except IsADirectoryError:
        raise RomError(path, 'is a directory') from None
    except PermissionError:
        raise RomError(path, 'permission denied') from None
    except OSError as error:
        raise RomError(path, f'cannot read ({error.strerror or error})') from None
    if len(data) > MAX_FILE_SIZE:
        raise RomError(
            path, f'too large for a Game Boy ROM (more than {_format_size(MAX_FILE_SIZE)})'
        )
    return data


def load_rom(
    path: str | os.PathLike[str],
    supported_mappers: tuple[str, ...] = ('none', 'mbc1'),
) -> tuple[bytes, Header, list[str]]:
    """Read a cartridge image from `path` and check that it can be run.

    Returns the image bytes, the decoded header and a list of one-line warnings for problems
    the game can run despite (each names the file). Raises `RomError` when the file cannot be
    read, is empty, is too short for a header, lacks the Nintendo logo, has a cartridge type
    or ROM size code Pan Docs does not define, needs a mapper outside `supported_mappers`, or
    is shorter than the ROM size its header declares.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise RomError(path, 'is a directory')
    data = _read_image(path)
    if not data:
        raise RomError(path, 'file is empty')
    header = parse_header(data, path)

    if header.cart_type not in CARTRIDGE_TYPES:
        raise RomError(path, f'unknown cartridge type ${header.cart_type:02X}')
    if header.mapper not in supported_mappers:
        raise RomError(
            path,
            f'unsupported cartridge type ${header.cart_type:02X} ({header.cart_type_name})',
        )
    if header.rom_size_code not in ROM_SIZE_BY_CODE:
        raise RomError(
            path, f'unknown ROM size code ${header.rom_size_code:02X} at ${ROM_SIZE_ADDRESS:04X}'
        )
    if len(data) < header.rom_size:
        raise RomError(
            path,
            f'truncated: header says {_format_size(header.rom_size)}, '
            f'file has {_format_size(len(data))}',
        )

    warnings = []
    if not header.checksum_ok:
        warnings.append(
            f'{path}: header checksum ${header.header_checksum:02X} does not match computed '
            f'${header.computed_checksum:02X} (real hardware would refuse to boot; '
            'playing anyway)'
        )
    if len(data) > header.rom_size:
        warnings.append(
            f'{path}: file has {_format_size(len(data))}, more than the '
            f'{_format_size(header.rom_size)} its header says (playing anyway)'
        )
    if header.ram_size_code not in RAM_SIZE_BY_CODE:
        warnings.append(
            f'{path}: unknown RAM size code ${header.ram_size_code:02X} at '
            f'${RAM_SIZE_ADDRESS:04X}; assuming no external RAM'
        )
    return data, header, warnings
