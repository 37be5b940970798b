"""Synthetic cartridge images for tests: a valid header around a few hand-assembled bytes.

`build_rom` makes a 32 KiB image with the Nintendo logo and a correct header
checksum whose program starts at $0150. The other helpers return SM83 machine
code for what test ROMs do to report a result, so tests can exercise the test
runner's protocols without the real ROM collection.
"""

from __future__ import annotations

from gbemu.cartridge import NINTENDO_LOGO, compute_header_checksum

ROM_SIZE = 0x8000
PROGRAM_START = 0x0150
CART_ROM_ONLY = 0x00
CART_MBC1_RAM = 0x02
RAM_SIZE_8K = 0x02

LOOP_FOREVER = bytes((0x18, 0xFE))           # JR -2
LD_B_B = bytes((0x40,))
ILLEGAL_OPCODE = bytes((0xD3,))
MOONEYE_PASS = (3, 5, 8, 13, 21, 34)
MOONEYE_FAIL = (0x42,) * 6


def build_rom(program: bytes = LOOP_FOREVER, *, cart_type: int = CART_ROM_ONLY,
              ram_size_code: int = 0, title: bytes = b"SYNTHETIC") -> bytes:
    """A 32 KiB image that jumps to ``program`` at $0150."""
    image = bytearray(ROM_SIZE)
    image[0x100:0x104] = bytes((0x00, 0xC3, PROGRAM_START & 0xFF, PROGRAM_START >> 8))
    image[0x104:0x134] = NINTENDO_LOGO
    image[0x134:0x134 + len(title)] = title
    image[0x147] = cart_type
    image[0x148] = 0                          # 32 KiB
    image[0x149] = ram_size_code
    image[PROGRAM_START:PROGRAM_START + len(program)] = program
    image[0x14D] = compute_header_checksum(bytes(image))
    return bytes(image)


def load_registers(values) -> bytes:
    """LD B,n / LD C,n / LD D,n / LD E,n / LD H,n / LD L,n."""
    opcodes = (0x06, 0x0E, 0x16, 0x1E, 0x26, 0x2E)
    return b"".join(bytes((op, value)) for op, value in zip(opcodes, values))


def mooneye_result(values) -> bytes:
    """Load B..L with ``values`` and execute the LD B,B breakpoint."""
    return load_registers(values) + LD_B_B


def serial_print(text: str) -> bytes:
    """Send each character on the link port, waiting for each transfer to finish."""
    code = bytearray()
    for char in text.encode("ascii"):
        code += bytes((0x3E, char, 0xE0, 0x01))          # LD A,c ; LDH (SB),A
        code += bytes((0x3E, 0x81, 0xE0, 0x02))          # LD A,$81 ; LDH (SC),A
        code += bytes((0xF0, 0x02, 0xCB, 0x7F, 0x20, 0xFA))  # wait: LDH A,(SC); BIT 7,A; JR NZ
    return bytes(code)


def store_bytes(address: int, data: bytes) -> bytes:
    """LD HL,address then LD A,n ; LD (HL+),A for each byte."""
    code = bytearray((0x21, address & 0xFF, address >> 8))
    for value in data:
        code += bytes((0x3E, value, 0x22))
    return bytes(code)


def blargg_ram_report(code: int, text: str) -> bytes:
    """Enable cartridge RAM and leave a finished Blargg result at $A000."""
    program = bytearray((0x3E, 0x0A, 0xEA, 0x00, 0x00))  # LD A,$0A ; LD ($0000),A
    program += store_bytes(0xA000, bytes((0x80, 0xDE, 0xB0, 0x61)))
    program += store_bytes(0xA004, text.encode("ascii") + b"\0")
    program += store_bytes(0xA000, bytes((code,)))
    return bytes(program)


def screen_print(text: str, *, high_map: bool = False) -> bytes:
    """Switch the LCD off and write ``text`` as tile numbers at the top left of the map."""
    lcdc = 0x08 if high_map else 0x00
    program = bytearray((0x3E, lcdc, 0xE0, 0x40))        # LD A,lcdc ; LDH (LCDC),A
    program += store_bytes(0x9C00 if high_map else 0x9800, text.encode("ascii"))
    return bytes(program)
