"""The assembler (gbemu/asm.py) and the ROMs built with it.

Every opcode of the table assembles to its own encoding and disassembles back to the
same text; the syntax a ROM source uses (labels, local labels, constants, sections,
data, includes, expressions) gives the bytes it should; bad source names file and
line; the header is one the emulator's own parser accepts; and the committed ROMs (and
reference pictures) are exactly what their sources give.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from gbemu import asm, opcodes
from gbemu.cartridge import NINTENDO_LOGO, parse_header
from tests.romroot import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))
import build_roms  # noqa: E402

LEGAL = [op for table in (opcodes.BASE, opcodes.CB) for op in table
         if not op.illegal and op.mnemonic != "PREFIX"]


def assemble(text: str, **symbols) -> bytes:
    return asm.Assembler(symbols).assemble(text, "test.asm").image


def code_at(address: int, text: str, length: int) -> bytes:
    image = assemble(f'SECTION "code", ROM0[${address:04X}]\n{text}\n')
    return image[address:address + length]


def instruction_bytes(op, operand: bytes) -> bytes:
    head = bytes((opcodes.CB_PREFIX, op.code)) if op.cb else bytes((op.code,))
    return (head + operand)[:op.length]


@pytest.mark.parametrize("op", LEGAL, ids=lambda op: f"{'CB' if op.cb else ''}{op.code:02X}")
def test_every_opcode_round_trips_through_the_disassembler(op):
    rnd = random.Random(op.code + 256 * op.cb)
    address = 0x1234
    for _ in range(4):
        operand = bytes(rnd.randrange(256) for _ in range(2))
        if op.mnemonic == "STOP":
            operand = b"\x00"
        data = instruction_bytes(op, operand)
        memory = dict(enumerate(data, address))
        text, length = opcodes.disassemble(lambda a: memory.get(a, 0), address)
        assert length == op.length
        assert code_at(address, text, length) == data, text


DATA_DIRECTIVES = {"DB", "DW", "DS"}


@pytest.mark.parametrize("source", ["gbemu/assets/demo.asm", "roms_test/sprites.asm"])
def test_disassembling_a_shipped_rom_gives_its_source_instructions(source):
    """The shipped ROMs, disassembled where their sources put instructions: each one is
    found at its address with its source's mnemonic and length, and its text assembles
    back to the bytes in the ROM (the listing the debugger shows for that code)."""
    assembler = asm.Assembler(asm.hardware_symbols())
    image = assembler.assemble_file(REPO_ROOT / source).image
    shipped = (REPO_ROOT / source).with_suffix(".gb").read_bytes()
    assert image == shipped
    instructions = [st for st in assembler.statements
                    if st.offset is not None and st.word not in DATA_DIRECTIVES]
    assert len(instructions) > 100
    for st in instructions:
        text, length = opcodes.disassemble(lambda a: shipped[st.offset - st.address + a],
                                           st.address)
        where = f"{st.file}:{st.line} ${st.address:04X}"
        assert text.split()[0] == st.word, (where, text)
        assert length == st.size, (where, text)
        code = shipped[st.offset:st.offset + length]
        assert code_at(st.address, text, length) == code, (where, text)


@pytest.mark.parametrize("op", LEGAL, ids=lambda op: op.mnemonic)
def test_every_mnemonic_of_the_table_assembles_to_its_opcode(op):
    # The table's own text with each placeholder given a value.
    text = (op.mnemonic.replace("n16", "$BEEF").replace("a16", "$C0DE")
            .replace("a8", "$FF80").replace("n8", "$12").replace("SP+e8", "SP+5")
            .replace("e8", "$0150" if op.mnemonic.startswith("JR") else "-3"))
    data = code_at(0x0150, text, op.length)
    assert data[:2 if op.cb else 1] == instruction_bytes(op, b"")[:2 if op.cb else 1]
    assert len(data) == op.length


def test_operands_are_encoded_little_endian_signed_and_relative():
    assert code_at(0x200, "LD BC,$1234", 3) == bytes((0x01, 0x34, 0x12))
    assert code_at(0x200, "LD A,[$C000]", 3) == bytes((0xFA, 0x00, 0xC0))
    assert code_at(0x200, "LDH [$FF44],A", 2) == bytes((0xE0, 0x44))
    assert code_at(0x200, "LDH A,[$44]", 2) == bytes((0xF0, 0x44))
    assert code_at(0x200, "ADD SP,-2", 2) == bytes((0xE8, 0xFE))
    assert code_at(0x200, "LD HL,SP-1", 2) == bytes((0xF8, 0xFF))
    assert code_at(0x200, "JR $0200", 2) == bytes((0x18, 0xFE))
    assert code_at(0x200, "JR NZ,$0212", 2) == bytes((0x20, 0x10))
    assert code_at(0x200, "LD A,-1", 2) == bytes((0x3E, 0xFF))
    assert code_at(0x200, "RST $38", 1) == bytes((0xFF,))
    assert code_at(0x200, "BIT 7,[HL]", 2) == bytes((0xCB, 0x7E))
    assert code_at(0x200, "STOP", 2) == bytes((0x10, 0x00))


def test_aliases_and_case():
    assert code_at(0x200, "ld a,[hli]", 1) == code_at(0x200, "LD A,[HL+]", 1) == b"\x2A"
    assert code_at(0x200, "ld [hld],a", 1) == b"\x32"
    assert code_at(0x200, "ld a,[$ff00+c]", 1) == b"\xF2"
    assert code_at(0x200, "cp 10", 2) == bytes((0xFE, 10))
    assert code_at(0x200, "xor a", 1) == b"\xAF"
    assert code_at(0x200, "ld\ta, b", 1) == b"\x78"


def test_labels_local_labels_constants_and_expressions():
    source = """
COUNT EQU 3 * (2 + 1)
MASK EQU %1010_0101
SECTION "main", ROM0[$0150]
Start:
    ld b, COUNT
.loop:
    dec b
    jr nz, .loop
    jp Other.loop
Other:
    nop
.loop:
    ld hl, Data + 2
    ld a, LOW(Data) ^ HIGH(Data)
    ld c, MASK & $0F | 1 << 4
    ld d, 17 % 5
    ld e, (7 - 10) / 2
    jr @
Data:
    db 1, "AB", 'C', -1
    dw Start, `01230123
    ds 3, $EE
"""
    image = assemble(source)
    data = 0x150 + 2 + 1 + 2 + 3 + 1 + 3 + 2 + 2 + 2 + 2 + 2
    expected = bytes((
        0x06, 9,                       # ld b, 9
        0x05,                          # .loop: dec b
        0x20, 0xFD,                    # jr nz, .loop
        0xC3, 0x59, 0x01,              # jp Other.loop ($0159)
        0x00,                          # Other: nop
        0x21, (data + 2) & 0xFF, (data + 2) >> 8,
        0x3E, (data & 0xFF) ^ (data >> 8),
        0x0E, 0x05 | 0x10,
        0x16, 2,
        0x1E, 0xFF,                    # -3 / 2 truncates towards zero: -1
        0x18, 0xFE,                    # jr @
        1, ord("A"), ord("B"), ord("C"), 0xFF,
        0x50, 0x01, 0b01010101, 0b00110011,
        0xEE, 0xEE, 0xEE,
    ))
    assert image[0x150:0x150 + len(expected)] == expected


def test_sections_ram_labels_banks_and_org():
    source = """
SECTION "vars", WRAM0[$C100]
wCounter: ds 2
wFlag: ds 1
SECTION "bank 2", ROMX[$4000], BANK[2]
    dw wFlag
SECTION "start", ROM0[$0200]
    ld a, [wCounter]
    ORG $0300
    ld [wFlag], a
"""
    image = assemble(source)
    assert len(image) == 0x10000                      # three banks round up to four
    assert image[0x148] == 1                          # ROM size code: 64 KiB
    assert image[2 * 0x4000:2 * 0x4000 + 2] == bytes((0x02, 0xC1))
    assert image[0x200:0x203] == bytes((0xFA, 0x00, 0xC1))
    assert image[0x300:0x303] == bytes((0xEA, 0x02, 0xC1))


def test_header_is_filled_in_and_accepted_by_the_emulator():
    source = 'TITLE "HEADER TEST"\nCARTTYPE $03\nRAMSIZE 2\nSECTION "e", ROM0[$100]\n nop\n'
    image = assemble(source)
    assert image[0x104:0x134] == NINTENDO_LOGO
    header = parse_header(image, "test.gb")
    assert header.title == "HEADER TEST"
    assert header.cart_type == 0x03 and header.ram_size == 8 * 1024
    assert header.rom_size == 32 * 1024
    assert image[0x14D] == header.header_checksum
    total = (sum(image) - image[0x14E] - image[0x14F]) & 0xFFFF
    assert int.from_bytes(image[0x14E:0x150], "big") == total


def test_include_and_incbin(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "values.inc").write_text("VALUE EQU $42\nIncluded:\n db VALUE\n")
    (tmp_path / "parts" / "blob.bin").write_bytes(bytes(range(10)))
    main = tmp_path / "main.asm"
    main.write_text('SECTION "a", ROM0[$200]\n INCLUDE "parts/values.inc"\n'
                    ' INCBIN "parts/blob.bin", 2, 3\n ld a, VALUE\n jp Included\n')
    image = asm.Assembler().assemble_file(main).image
    assert image[0x200:0x209] == bytes((0x42, 2, 3, 4, 0x3E, 0x42, 0xC3, 0x00, 0x02))


def test_hardware_names_come_from_hwio():
    image = asm.Assembler(asm.hardware_symbols()).assemble(
        'SECTION "a", ROM0[$200]\n ldh a, [LY]\n ldh [IE_ADDR], a\n')
    assert image.image[0x200:0x204] == bytes((0xF0, 0x44, 0xE0, 0xFF))


ERRORS = {
    "unknown instruction": (" frob a", "unknown instruction or directive 'FROB'"),
    "bad operands": (" ld [bc], b", "LD cannot take operands [bc], b"),
    "undefined symbol": (" jp Nowhere", "undefined symbol Nowhere"),
    "jr out of range": (" jr $0400", "JR reaches -128 to +127"),
    "byte too big": (" ld a, 256", "does not fit in 8 bits"),
    "ldh outside page": (" ldh a, [$C000]", "not in $FF00-$FFFF"),
    "bad bit number": (" bit 8, a", "BIT takes 0, 1, 2, 3, 4, 5, 6, 7, not 8"),
    "duplicate label": ("X:\nX:", "X is already defined"),
    "local without scope": (".a:", "local label .a before any global label"),
    "bad expression": (" ld a, (1 + 2", "missing ')'"),
    "overlap": (" nop\n ORG $0200\n nop", "overlaps the bytes written at test.asm:2"),
    "header write": (" ORG $0134\n db 1", "writes into the cartridge header at $0134"),
    "ram code": ('SECTION "v", WRAM0[$C000]\n nop', "NOP in a RAM section"),
    "self reference": ("A1 EQU A1 + 1\n ld a, A1", "A1 is defined in terms of itself"),
}


@pytest.mark.parametrize("source, message", ERRORS.values(), ids=ERRORS.keys())
def test_errors_name_file_line_and_problem(source, message):
    text = 'SECTION "main", ROM0[$0200]\n' + source + "\n"
    with pytest.raises(asm.AsmError) as caught:
        assemble(text)
    error = caught.value
    assert str(error).startswith(f"test.asm:{error.line}: ")
    assert message in str(error)
    assert 2 <= error.line <= text.count("\n")


def test_error_inside_an_include_names_the_included_file(tmp_path):
    (tmp_path / "bad.inc").write_text("; fine\n\n  ld q, 1\n")
    main = tmp_path / "main.asm"
    main.write_text('SECTION "a", ROM0[$200]\n INCLUDE "bad.inc"\n')
    with pytest.raises(asm.AsmError) as caught:
        asm.Assembler().assemble_file(main)
    assert str(caught.value).startswith(f"{tmp_path / 'bad.inc'}:3: ")


@pytest.mark.parametrize("source", build_roms.sources(), ids=lambda p: p.name)
def test_committed_rom_matches_its_source(source):
    committed = build_roms.target(source)
    assert committed.is_file(), f"{committed} missing: run python tools/build_roms.py"
    assert committed.read_bytes() == build_roms.build(source), (
        f"{committed} differs from what {source.name} assembles to: "
        "run python tools/build_roms.py")
    assert build_roms.build(source) == build_roms.build(source)


@pytest.mark.parametrize("source", [s for s in build_roms.sources()
                                    if build_roms.reference_target(s) is not None],
                         ids=lambda p: p.name)
def test_committed_reference_picture_matches_its_model(source):
    assert build_roms.reference_is_current(source), (
        f"{build_roms.reference_target(source)} differs from tools/reference_screens.py: "
        "run python tools/build_roms.py")


def test_build_script_check_mode_passes_on_the_committed_tree():
    done = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "build_roms.py"),
                           "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
