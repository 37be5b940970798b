"""Tests of the SM83 opcode table and disassembler in gbemu.opcodes."""

import dataclasses
import re

import pytest

from gbemu.opcodes import BASE, CB, Opcode, disassemble, disassemble_range, grid

ILLEGAL = {0xD3, 0xDB, 0xDD, 0xE3, 0xE4, 0xEB, 0xEC, 0xED, 0xF4, 0xFC, 0xFD}
FLAG_CHARS = {0: "Z0-1", 1: "N0-1", 2: "H0-1", 3: "C0-1"}


def _expected_length(op: Opcode) -> int:
    if op.cb:
        return 2
    if op.mnemonic == "STOP":
        return 2
    if re.search(r"\b(n16|a16)\b", op.mnemonic):
        return 3
    if re.search(r"(n8|a8|e8)\b", op.mnemonic):
        return 2
    return 1


def test_tables_have_256_entries_with_matching_codes():
    assert len(BASE) == 256 and len(CB) == 256
    assert [op.code for op in BASE] == list(range(256))
    assert [op.code for op in CB] == list(range(256))
    assert not any(op.cb for op in BASE)
    assert all(op.cb for op in CB)


def test_opcode_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BASE[0].cycles = 9


def test_mnemonics_are_unique_within_each_table():
    assert len({op.mnemonic for op in BASE}) == 256
    assert len({op.mnemonic for op in CB}) == 256


@pytest.mark.parametrize("op", BASE + CB, ids=lambda op: f"{'CB' if op.cb else ''}{op.code:02X}")
def test_length_matches_operand_placeholders(op):
    assert op.length == _expected_length(op), op.mnemonic


def test_exactly_the_eleven_unused_opcodes_are_illegal():
    assert {op.code for op in BASE if op.illegal} == ILLEGAL
    assert not any(op.illegal for op in CB)
    for code in ILLEGAL:
        op = BASE[code]
        assert op.mnemonic == f"ILLEGAL_{code:02X}"
        assert (op.length, op.cycles, op.cycles_taken, op.flags) == (1, 1, None, "----")


def test_prefix_stop_and_halt_entries():
    assert BASE[0xCB].mnemonic == "PREFIX" and BASE[0xCB].length == 1
    assert (BASE[0x10].mnemonic, BASE[0x10].length) == ("STOP", 2)
    assert (BASE[0x76].mnemonic, BASE[0x76].length) == ("HALT", 1)


def test_flag_strings_are_well_formed():
    for op in BASE + CB:
        assert len(op.flags) == 4, op.mnemonic
        for position, char in enumerate(op.flags):
            assert char in FLAG_CHARS[position], op.mnemonic


def test_only_conditional_branches_have_taken_cycles():
    conditional = re.compile(r"^(JR|JP|CALL|RET) (NZ|Z|NC|C)\b")
    for op in BASE + CB:
        is_conditional = bool(conditional.match(op.mnemonic))
        assert (op.cycles_taken is not None) == is_conditional, op.mnemonic
        if is_conditional:
            assert op.cycles_taken > op.cycles
    assert sum(op.cycles_taken is not None for op in BASE) == 16


# (table, code, mnemonic, cycles, cycles_taken, flags) checked against Pan Docs.
SPOT_CHECKS = [
    (BASE, 0x00, "NOP", 1, None, "----"),
    (BASE, 0x01, "LD BC,n16", 3, None, "----"),
    (BASE, 0x02, "LD [BC],A", 2, None, "----"),
    (BASE, 0x03, "INC BC", 2, None, "----"),
    (BASE, 0x04, "INC B", 1, None, "Z0H-"),
    (BASE, 0x05, "DEC B", 1, None, "Z1H-"),
    (BASE, 0x06, "LD B,n8", 2, None, "----"),
    (BASE, 0x07, "RLCA", 1, None, "000C"),
    (BASE, 0x08, "LD [a16],SP", 5, None, "----"),
    (BASE, 0x09, "ADD HL,BC", 2, None, "-0HC"),
    (BASE, 0x0F, "RRCA", 1, None, "000C"),
    (BASE, 0x17, "RLA", 1, None, "000C"),
    (BASE, 0x18, "JR e8", 3, None, "----"),
    (BASE, 0x1F, "RRA", 1, None, "000C"),
    (BASE, 0x20, "JR NZ,e8", 2, 3, "----"),
    (BASE, 0x22, "LD [HL+],A", 2, None, "----"),
    (BASE, 0x27, "DAA", 1, None, "Z-0C"),
    (BASE, 0x2A, "LD A,[HL+]", 2, None, "----"),
    (BASE, 0x2F, "CPL", 1, None, "-11-"),
    (BASE, 0x32, "LD [HL-],A", 2, None, "----"),
    (BASE, 0x34, "INC [HL]", 3, None, "Z0H-"),
    (BASE, 0x35, "DEC [HL]", 3, None, "Z1H-"),
    (BASE, 0x36, "LD [HL],n8", 3, None, "----"),
    (BASE, 0x37, "SCF", 1, None, "-001"),
    (BASE, 0x38, "JR C,e8", 2, 3, "----"),
    (BASE, 0x3B, "DEC SP", 2, None, "----"),
    (BASE, 0x3F, "CCF", 1, None, "-00C"),
    (BASE, 0x41, "LD B,C", 1, None, "----"),
    (BASE, 0x46, "LD B,[HL]", 2, None, "----"),
    (BASE, 0x70, "LD [HL],B", 2, None, "----"),
    (BASE, 0x76, "HALT", 1, None, "----"),
    (BASE, 0x80, "ADD A,B", 1, None, "Z0HC"),
    (BASE, 0x8E, "ADC A,[HL]", 2, None, "Z0HC"),
    (BASE, 0x90, "SUB A,B", 1, None, "Z1HC"),
    (BASE, 0x9F, "SBC A,A", 1, None, "Z1HC"),
    (BASE, 0xA0, "AND A,B", 1, None, "Z010"),
    (BASE, 0xAF, "XOR A,A", 1, None, "Z000"),
    (BASE, 0xB6, "OR A,[HL]", 2, None, "Z000"),
    (BASE, 0xBE, "CP A,[HL]", 2, None, "Z1HC"),
    (BASE, 0xC0, "RET NZ", 2, 5, "----"),
    (BASE, 0xC1, "POP BC", 3, None, "----"),
    (BASE, 0xC2, "JP NZ,a16", 3, 4, "----"),
    (BASE, 0xC3, "JP a16", 4, None, "----"),
    (BASE, 0xC4, "CALL NZ,a16", 3, 6, "----"),
    (BASE, 0xC5, "PUSH BC", 4, None, "----"),
    (BASE, 0xC6, "ADD A,n8", 2, None, "Z0HC"),
    (BASE, 0xC7, "RST $00", 4, None, "----"),
    (BASE, 0xC9, "RET", 4, None, "----"),
    (BASE, 0xCD, "CALL a16", 6, None, "----"),
    (BASE, 0xD8, "RET C", 2, 5, "----"),
    (BASE, 0xD9, "RETI", 4, None, "----"),
    (BASE, 0xDA, "JP C,a16", 3, 4, "----"),
    (BASE, 0xDC, "CALL C,a16", 3, 6, "----"),
    (BASE, 0xE0, "LDH [a8],A", 3, None, "----"),
    (BASE, 0xE2, "LD [C],A", 2, None, "----"),
    (BASE, 0xE6, "AND A,n8", 2, None, "Z010"),
    (BASE, 0xE8, "ADD SP,e8", 4, None, "00HC"),
    (BASE, 0xE9, "JP HL", 1, None, "----"),
    (BASE, 0xEA, "LD [a16],A", 4, None, "----"),
    (BASE, 0xF0, "LDH A,[a8]", 3, None, "----"),
    (BASE, 0xF1, "POP AF", 3, None, "ZNHC"),
    (BASE, 0xF2, "LD A,[C]", 2, None, "----"),
    (BASE, 0xF3, "DI", 1, None, "----"),
    (BASE, 0xF5, "PUSH AF", 4, None, "----"),
    (BASE, 0xF8, "LD HL,SP+e8", 3, None, "00HC"),
    (BASE, 0xF9, "LD SP,HL", 2, None, "----"),
    (BASE, 0xFA, "LD A,[a16]", 4, None, "----"),
    (BASE, 0xFB, "EI", 1, None, "----"),
    (BASE, 0xFE, "CP A,n8", 2, None, "Z1HC"),
    (BASE, 0xFF, "RST $38", 4, None, "----"),
    (CB, 0x00, "RLC B", 2, None, "Z00C"),
    (CB, 0x06, "RLC [HL]", 4, None, "Z00C"),
    (CB, 0x19, "RR C", 2, None, "Z00C"),
    (CB, 0x27, "SLA A", 2, None, "Z00C"),
    (CB, 0x2E, "SRA [HL]", 4, None, "Z00C"),
    (CB, 0x37, "SWAP A", 2, None, "Z000"),
    (CB, 0x3F, "SRL A", 2, None, "Z00C"),
    (CB, 0x46, "BIT 0,[HL]", 3, None, "Z01-"),
    (CB, 0x7C, "BIT 7,H", 2, None, "Z01-"),
    (CB, 0x87, "RES 0,A", 2, None, "----"),
    (CB, 0x9E, "RES 3,[HL]", 4, None, "----"),
    (CB, 0xC1, "SET 0,C", 2, None, "----"),
    (CB, 0xFE, "SET 7,[HL]", 4, None, "----"),
]


@pytest.mark.parametrize(
    "table,code,mnemonic,cycles,cycles_taken,flags",
    SPOT_CHECKS,
    ids=[f"{'CB' if t is CB else ''}{c:02X}" for t, c, *_ in SPOT_CHECKS],
)
def test_spot_check_against_pan_docs(table, code, mnemonic, cycles, cycles_taken, flags):
    op = table[code]
    assert (op.mnemonic, op.cycles, op.cycles_taken, op.flags) == (
        mnemonic, cycles, cycles_taken, flags)


def test_cb_cycles_by_operation_and_operand():
    for op in CB:
        on_memory = op.code & 7 == 6
        is_bit = op.code >> 6 == 1
        expected = (3 if is_bit else 4) if on_memory else 2
        assert op.cycles == expected, op.mnemonic


def test_register_loads_cost_one_cycle_and_memory_loads_two():
    for code in range(0x40, 0x80):
        if code == 0x76:
            continue
        uses_memory = "[HL]" in BASE[code].mnemonic
        assert BASE[code].cycles == (2 if uses_memory else 1), BASE[code].mnemonic


PROGRAM = bytes.fromhex(
    "31 FE FF"  # $0150 LD SP,$FFFE
    "00"  # $0153 NOP
    "CB 7C"  # $0154 BIT 7,H
    "E0 44"  # $0156 LDH [$FF44],A
    "F0 40"  # $0158 LDH A,[$FF40]
    "F8 FE"  # $015A LD HL,SP-2
    "F8 05"  # $015C LD HL,SP+5
    "E8 80"  # $015E ADD SP,-128
    "E8 7F"  # $0160 ADD SP,127
    "3E 12"  # $0162 LD A,$12
    "EA 34 12"  # $0164 LD [$1234],A
    "08 00 C0"  # $0167 LD [$C000],SP
    "E2"  # $016A LD [C],A
    "32"  # $016B LD [HL-],A
    "CD 00 40"  # $016C CALL $4000
    "C2 50 01"  # $016F JP NZ,$0150
    "18 02"  # $0172 JR $0176
    "DD"  # $0174 ILLEGAL_DD
    "10 00"  # $0175 STOP
    "20 D7"  # $0177 JR NZ,$0150
    "CB 36"  # $0179 SWAP [HL]
    "FF"  # $017B RST $38
)

EXPECTED_LISTING = [
    (0x0150, "LD SP,$FFFE"),
    (0x0153, "NOP"),
    (0x0154, "BIT 7,H"),
    (0x0156, "LDH [$FF44],A"),
    (0x0158, "LDH A,[$FF40]"),
    (0x015A, "LD HL,SP-2"),
    (0x015C, "LD HL,SP+5"),
    (0x015E, "ADD SP,-128"),
    (0x0160, "ADD SP,127"),
    (0x0162, "LD A,$12"),
    (0x0164, "LD [$1234],A"),
    (0x0167, "LD [$C000],SP"),
    (0x016A, "LD [C],A"),
    (0x016B, "LD [HL-],A"),
    (0x016C, "CALL $4000"),
    (0x016F, "JP NZ,$0150"),
    (0x0172, "JR $0176"),
    (0x0174, "ILLEGAL_DD"),
    (0x0175, "STOP"),
    (0x0177, "JR NZ,$0150"),
    (0x0179, "SWAP [HL]"),
    (0x017B, "RST $38"),
]


def test_disassemble_range_listing():
    listing = disassemble_range(PROGRAM, 0x0150, 100)
    assert [(addr, text) for addr, _, text in listing] == EXPECTED_LISTING
    assert b"".join(raw for _, raw, _ in listing) == PROGRAM
    assert listing[2][1] == bytes([0xCB, 0x7C])


def test_disassemble_range_respects_count_and_truncation():
    assert len(disassemble_range(PROGRAM, 0x0150, 3)) == 3
    assert disassemble_range(bytes([0x31, 0xFE]), 0x0000, 5) == []
    assert disassemble_range(bytes([0x00, 0xC3, 0x00]), 0x0000, 5) == [(0, b"\x00", "NOP")]


def test_disassemble_jr_backwards_from_0150():
    memory = {0x0150: 0x20, 0x0151: 0xFB}
    assert disassemble(memory.__getitem__, 0x0150) == ("JR NZ,$014D", 2)


def test_disassemble_wraps_at_16_bits():
    memory = {0xFFFF: 0xC3, 0x0000: 0x34, 0x0001: 0x12}
    assert disassemble(memory.__getitem__, 0xFFFF) == ("JP $1234", 3)
    jr_to_wrap = {0xFFFE: 0x18, 0xFFFF: 0x00}
    assert disassemble(jr_to_wrap.__getitem__, 0xFFFE) == ("JR $0000", 2)


def test_every_opcode_disassembles_without_placeholders():
    for code in range(256):
        for second in (0x00, 0xFF):
            data = bytes([code, second, 0x80])
            text, length = disassemble(lambda a: data[a], 0)
            assert length == (CB[second].length if code == 0xCB else BASE[code].length)
            assert not re.search(r"\b(n8|n16|a8|a16|e8)\b", text), text


def test_grid_shows_labels_and_every_mnemonic():
    lines = grid(BASE).splitlines()
    assert len(lines) == 17
    assert lines[0].split()[:2] == ["x0", "x1"] and lines[0].split()[-1] == "xF"
    assert [line.split()[0] for line in lines[1:]] == [f"{row:X}x" for row in range(16)]
    assert lines[1].startswith("0x NOP")
    assert "RST $38" in lines[16]
    cb_text = grid(CB)
    assert all(op.mnemonic in cb_text for op in CB)
