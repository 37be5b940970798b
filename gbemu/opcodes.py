"""Opcode table of the Game Boy's SM83 (LR35902) CPU.

Models every base opcode and every $CB-prefixed opcode: RGBDS mnemonic with operand
placeholders, length in bytes, duration in M-cycles and the effect on the Z N H C flags.
The table is generated from the opcode bit fields as laid out in Pan Docs:
x = bits 7-6, y = bits 5-3, z = bits 2-0, p = y >> 1, q = y & 1.

Operand placeholders in mnemonics:
    n8   8-bit immediate            n16  16-bit immediate
    a16  16-bit address             a8   low byte of an address in $FF00-$FFFF (LDH)
    e8   signed 8-bit offset (JR target, ADD SP,e8 and LD HL,SP+e8)
[C] in `LD A,[C]` / `LD [C],A` means address $FF00+C.

Disassembly conventions: n8 prints as $XX, n16/a16 as $XXXX, a8 as the full address
$FFXX (`LDH [$FF44],A`), JR prints its absolute target (`JR NZ,$014D`), and the offset
of ADD SP / LD HL,SP+ prints as signed decimal (`ADD SP,-2`, `LD HL,SP+3`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# Flags string order is Z N H C; each char is the flag letter (set by result), '0', '1'
# or '-' (unchanged).
FLAGS_UNCHANGED = "----"

# Register and condition names indexed by opcode bit fields.
R8 = ("B", "C", "D", "E", "H", "L", "[HL]", "A")
R16_SP = ("BC", "DE", "HL", "SP")
R16_AF = ("BC", "DE", "HL", "AF")
INDIRECT_A = ("[BC]", "[DE]", "[HL+]", "[HL-]")
CONDITIONS = ("NZ", "Z", "NC", "C")
HL_INDEX = 6

# ALU operations on A (x=2 with a register, x=3 z=6 with n8) and their flag rules.
ALU_OPS = (
    ("ADD", "Z0HC"),
    ("ADC", "Z0HC"),
    ("SUB", "Z1HC"),
    ("SBC", "Z1HC"),
    ("AND", "Z010"),
    ("XOR", "Z000"),
    ("OR", "Z000"),
    ("CP", "Z1HC"),
)

# Single-byte accumulator/flag operations (x=0 z=7).
ACCUMULATOR_OPS = (
    ("RLCA", "000C"),
    ("RRCA", "000C"),
    ("RLA", "000C"),
    ("RRA", "000C"),
    ("DAA", "Z-0C"),
    ("CPL", "-11-"),
    ("SCF", "-001"),
    ("CCF", "-00C"),
)

# CB-prefixed rotates and shifts (CB x=0) and their flag rules.
SHIFT_OPS = (
    ("RLC", "Z00C"),
    ("RRC", "Z00C"),
    ("RL", "Z00C"),
    ("RR", "Z00C"),
    ("SLA", "Z00C"),
    ("SRA", "Z00C"),
    ("SWAP", "Z000"),
    ("SRL", "Z00C"),
)

ILLEGAL_CODES = frozenset((0xD3, 0xDB, 0xDD, 0xE3, 0xE4, 0xEB, 0xEC, 0xED, 0xF4, 0xFC, 0xFD))
CB_PREFIX = 0xCB


@dataclass(frozen=True)
class Opcode:
    """One entry of the opcode table."""

    code: int  # opcode byte (the byte after $CB for prefixed opcodes)
    cb: bool  # True for $CB-prefixed opcodes
    mnemonic: str  # RGBDS syntax with operand placeholders
    length: int  # instruction length in bytes, prefix included
    cycles: int  # M-cycles when unconditional or when the branch is not taken
    cycles_taken: int | None  # M-cycles of a taken conditional branch, else None
    flags: str  # effect on Z N H C
    illegal: bool = False  # unused opcode that locks up the CPU


def _base(code: int, mnemonic: str, length: int, cycles: int,
          flags: str = FLAGS_UNCHANGED, cycles_taken: int | None = None) -> Opcode:
    return Opcode(code, False, mnemonic, length, cycles, cycles_taken, flags)


def _decode_x0(code: int, y: int, z: int, p: int, q: int) -> Opcode:
    """Loads, 16-bit arithmetic, INC/DEC, relative jumps and accumulator ops."""
    mem_cycle = 1 if y == HL_INDEX else 0
    if z == 0:
        if y == 0:
            return _base(code, "NOP", 1, 1)
        if y == 1:
            return _base(code, "LD [a16],SP", 3, 5)
        if y == 2:
            return _base(code, "STOP", 2, 1)
        if y == 3:
            return _base(code, "JR e8", 2, 3)
        return _base(code, f"JR {CONDITIONS[y - 4]},e8", 2, 2, cycles_taken=3)
    if z == 1:
        if q == 0:
            return _base(code, f"LD {R16_SP[p]},n16", 3, 3)
        return _base(code, f"ADD HL,{R16_SP[p]}", 1, 2, "-0HC")
    if z == 2:
        if q == 0:
            return _base(code, f"LD {INDIRECT_A[p]},A", 1, 2)
        return _base(code, f"LD A,{INDIRECT_A[p]}", 1, 2)
    if z == 3:
        return _base(code, f"{'DEC' if q else 'INC'} {R16_SP[p]}", 1, 2)
    if z == 4:
        return _base(code, f"INC {R8[y]}", 1, 1 + 2 * mem_cycle, "Z0H-")
    if z == 5:
        return _base(code, f"DEC {R8[y]}", 1, 1 + 2 * mem_cycle, "Z1H-")
    if z == 6:
        return _base(code, f"LD {R8[y]},n8", 2, 2 + mem_cycle)
    name, flags = ACCUMULATOR_OPS[y]
    return _base(code, name, 1, 1, flags)


def _decode_x1(code: int, y: int, z: int) -> Opcode:
    """8-bit register-to-register loads, with HALT in place of LD [HL],[HL]."""
    if y == HL_INDEX and z == HL_INDEX:
        return _base(code, "HALT", 1, 1)
    uses_memory = HL_INDEX in (y, z)
    return _base(code, f"LD {R8[y]},{R8[z]}", 1, 2 if uses_memory else 1)


def _decode_x2(code: int, y: int, z: int) -> Opcode:
    """8-bit ALU operations between A and a register or [HL]."""
    name, flags = ALU_OPS[y]
    return _base(code, f"{name} A,{R8[z]}", 1, 2 if z == HL_INDEX else 1, flags)


def _decode_x3(code: int, y: int, z: int, p: int, q: int) -> Opcode:
    """Stack, jumps, calls, high-page loads, ALU with immediate and RST."""
    if code in ILLEGAL_CODES:
        return Opcode(code, False, f"ILLEGAL_{code:02X}", 1, 1, None, FLAGS_UNCHANGED, True)
    if z == 0:
        if y < 4:
            return _base(code, f"RET {CONDITIONS[y]}", 1, 2, cycles_taken=5)
        return (
            _base(code, "LDH [a8],A", 2, 3),
            _base(code, "ADD SP,e8", 2, 4, "00HC"),
            _base(code, "LDH A,[a8]", 2, 3),
            _base(code, "LD HL,SP+e8", 2, 3, "00HC"),
        )[y - 4]
    if z == 1:
        if q == 0:
            return _base(code, f"POP {R16_AF[p]}", 1, 3, "ZNHC" if p == 3 else FLAGS_UNCHANGED)
        return (
            _base(code, "RET", 1, 4),
            _base(code, "RETI", 1, 4),
            _base(code, "JP HL", 1, 1),
            _base(code, "LD SP,HL", 1, 2),
        )[p]
    if z == 2:
        if y < 4:
            return _base(code, f"JP {CONDITIONS[y]},a16", 3, 3, cycles_taken=4)
        return (
            _base(code, "LD [C],A", 1, 2),
            _base(code, "LD [a16],A", 3, 4),
            _base(code, "LD A,[C]", 1, 2),
            _base(code, "LD A,[a16]", 3, 4),
        )[y - 4]
    if z == 3:
        others = {0: _base(code, "JP a16", 3, 4), 1: _base(code, "PREFIX", 1, 1),
                  6: _base(code, "DI", 1, 1), 7: _base(code, "EI", 1, 1)}
        return others[y]
    if z == 4:
        return _base(code, f"CALL {CONDITIONS[y]},a16", 3, 3, cycles_taken=6)
    if z == 5:
        if q == 0:
            return _base(code, f"PUSH {R16_AF[p]}", 1, 4)
        return _base(code, "CALL a16", 3, 6)
    if z == 6:
        name, flags = ALU_OPS[y]
        return _base(code, f"{name} A,n8", 2, 2, flags)
    return _base(code, f"RST ${y * 8:02X}", 1, 4)


def _decode_base(code: int) -> Opcode:
    x, y, z = code >> 6, (code >> 3) & 7, code & 7
    p, q = y >> 1, y & 1
    if x == 0:
        return _decode_x0(code, y, z, p, q)
    if x == 1:
        return _decode_x1(code, y, z)
    if x == 2:
        return _decode_x2(code, y, z)
    return _decode_x3(code, y, z, p, q)


def _decode_cb(code: int) -> Opcode:
    """$CB-prefixed opcodes: shifts/rotates, BIT, RES and SET on a register or [HL]."""
    x, y, z = code >> 6, (code >> 3) & 7, code & 7
    on_memory = z == HL_INDEX
    if x == 0:
        name, flags = SHIFT_OPS[y]
        return Opcode(code, True, f"{name} {R8[z]}", 2, 4 if on_memory else 2, None, flags)
    if x == 1:
        return Opcode(code, True, f"BIT {y},{R8[z]}", 2, 3 if on_memory else 2, None, "Z01-")
    name = "RES" if x == 2 else "SET"
    return Opcode(code, True, f"{name} {y},{R8[z]}", 2, 4 if on_memory else 2, None,
                  FLAGS_UNCHANGED)


BASE: tuple[Opcode, ...] = tuple(_decode_base(code) for code in range(256))
CB: tuple[Opcode, ...] = tuple(_decode_cb(code) for code in range(256))


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def disassemble(read: Callable[[int], int], addr: int) -> tuple[str, int]:
    """Decode the instruction at addr; return (text with operands filled in, length)."""
    def byte_at(offset: int) -> int:
        return read((addr + offset) & 0xFFFF) & 0xFF

    opcode = BASE[byte_at(0)]
    if opcode.code == CB_PREFIX:
        opcode = CB[byte_at(1)]
        return opcode.mnemonic, opcode.length
    text = opcode.mnemonic
    if "n16" in text or "a16" in text:
        word = byte_at(1) | (byte_at(2) << 8)
        text = text.replace("n16", f"${word:04X}").replace("a16", f"${word:04X}")
    elif "n8" in text:
        text = text.replace("n8", f"${byte_at(1):02X}")
    elif "a8" in text:
        text = text.replace("a8", f"${0xFF00 | byte_at(1):04X}")
    elif "SP+e8" in text:
        text = text.replace("+e8", f"{_signed(byte_at(1)):+d}")
    elif text.startswith("JR"):
        target = (addr + opcode.length + _signed(byte_at(1))) & 0xFFFF
        text = text.replace("e8", f"${target:04X}")
    elif "e8" in text:
        text = text.replace("e8", str(_signed(byte_at(1))))
    return text, opcode.length


def disassemble_range(data: bytes, start_addr: int,
                      count: int) -> list[tuple[int, bytes, str]]:
    """Disassemble up to count instructions of data loaded at start_addr.

    Returns (address, instruction bytes, text) per instruction and stops early when
    the next instruction would run past the end of data.
    """
    def read(addr: int) -> int:
        index = (addr - start_addr) & 0xFFFF
        return data[index] if index < len(data) else 0

    listing: list[tuple[int, bytes, str]] = []
    offset = 0
    while len(listing) < count and offset < len(data):
        addr = (start_addr + offset) & 0xFFFF
        text, length = disassemble(read, addr)
        if offset + length > len(data):
            break
        listing.append((addr, bytes(data[offset:offset + length]), text))
        offset += length
    return listing


def grid(table: tuple[Opcode, ...]) -> str:
    """Return a 16x16 grid of the table's mnemonics, rows by high nibble, columns by low."""
    width = max(len(op.mnemonic) for op in table)
    header = "   " + " ".join(f"x{col:X}".ljust(width) for col in range(16))
    rows = [header.rstrip()]
    for row in range(16):
        cells = " ".join(table[row * 16 + col].mnemonic.ljust(width) for col in range(16))
        rows.append(f"{row:X}x {cells}".rstrip())
    return "\n".join(rows)
