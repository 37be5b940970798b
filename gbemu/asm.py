"""A small SM83 assembler for gbemu's own ROMs (the demo and the test ROMs in roms_test/).

The syntax follows RGBDS where it overlaps. Instruction encodings are not
written here: they come from gbemu.opcodes, the one opcode table that the
disassembler and the CPU tests also use, so a mnemonic assembles to exactly
the bytes that disassemble back to it.

Source, one statement per line, ``;`` starts a comment, case does not matter
except in strings and symbol names:

    label:              a global label (``label::`` too); it opens a new scope
    .loop:              a local label, known as ``label.loop`` (``.loop`` inside the scope)
    NAME EQU expr       a constant (``DEF NAME EQU expr`` also works)
    SECTION "name", ROM0[$0150]        place what follows at an address; ROMX[$4000],
                        BANK[n] for a switchable bank; WRAM0, WRAMX, HRAM, VRAM, SRAM or OAM
                        sections only reserve space (``ds``) and define labels
    ORG expr            go on at another address in the current section's space
    DB expr|"text", ... bytes      DW expr, ...  little-endian words
    DS count[, fill]    count bytes of fill (0), or reserved space in RAM
    INCLUDE "file"      assemble another source here (path relative to the including file)
    INCBIN "file"[, offset[, length]]              copy a binary file's bytes
    TITLE "text"        cartridge header: title (up to 16 characters)
    CARTTYPE expr       cartridge header: type byte ($0147), default 0 (ROM only)
    RAMSIZE expr        cartridge header: RAM size code ($0149), default 0

Expressions: numbers ($1F hex, %1010 binary, 42 decimal, 'A' a character, and
`01233210 (a backquote and eight digits 0-3) a row of eight 2-bit pixels, which DW
writes as a tile row's two bytes),
symbols, ``@`` (the address of the current statement), unary - + ~, the binary
operators * / % + - << >> & ^ | with C precedence, parentheses, and the functions
``LOW(x)`` and ``HIGH(x)``. Instruction operands are written as in the opcode
table: ``LD A,[HL+]``, ``LDH [$FF44],A`` (or ``LDH [LY],A`` with a constant),
``LD HL,SP+4``, ``JR NZ,.loop``, ``ADD SP,-2``, ``RST $38``. ``[HLI]``/``[HLD]``
are accepted for ``[HL+]``/``[HL-]``, ``[$FF00+C]`` for ``[C]``, and an ALU
operation on A may leave out ``A,`` (``CP 10``).

Two passes: the first gives every statement its size and every label its
address; the second evaluates the expressions and writes the bytes. The
cartridge header (logo, title, type, sizes, header and global checksums) is
filled in at the end. Every error is an AsmError whose message starts with
``file:line:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gbemu import opcodes
from gbemu.cartridge import NINTENDO_LOGO, compute_header_checksum

ROM_BANK_SIZE = 0x4000
MIN_ROM_SIZE = 0x8000
HEADER_START = 0x0104
HEADER_END = 0x0150
TITLE_ADDRESS = 0x0134
TITLE_LENGTH = 16
CART_TYPE_ADDRESS = 0x0147
ROM_SIZE_ADDRESS = 0x0148
RAM_SIZE_ADDRESS = 0x0149
DESTINATION_ADDRESS = 0x014A
HEADER_CHECKSUM_ADDRESS = 0x014D
GLOBAL_CHECKSUM_ADDRESS = 0x014E
DESTINATION_OVERSEAS = 0x01
PAD_BYTE = 0xFF
HIGH_PAGE = 0xFF00
MAX_INCLUDE_DEPTH = 16

# Section kinds: where the section's addresses live and whether it holds ROM bytes.
ROM_KINDS = {"ROM0": (0x0000, 0x4000), "ROMX": (0x4000, 0x8000)}
RAM_KINDS = {
    "VRAM": (0x8000, 0xA000), "SRAM": (0xA000, 0xC000), "WRAM0": (0xC000, 0xD000),
    "WRAMX": (0xD000, 0xE000), "OAM": (0xFE00, 0xFEA0), "HRAM": (0xFF80, 0xFFFF),
}

REGISTERS = frozenset(("A", "B", "C", "D", "E", "H", "L", "AF", "BC", "DE", "HL", "SP",
                       "NZ", "Z", "NC"))
OPERAND_ALIASES = {"[HLI]": "[HL+]", "[HLD]": "[HL-]", "[$FF00+C]": "[C]",
                   "[$FF00 + C]": "[C]", "[0XFF00+C]": "[C]"}
ALU_NAMES = frozenset(name for name, _flags in opcodes.ALU_OPS)

# Operand shapes: a register or condition is its own shape; these stand for values.
IMM = "imm"          # a plain expression
MEM = "mem"          # [expression]
SP_OFFSET = "sp+"    # SP+expression (LD HL,SP+e8)


class AsmError(Exception):
    """A source error; str() is ``file:line: message``."""

    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


class _Undefined(Exception):
    """A symbol not defined (yet); fatal only in the second pass."""


# -- the instruction table, derived from gbemu.opcodes ------------------------------------

@dataclass(frozen=True)
class _Form:
    """One way to write an instruction: its opcode and how its value operand is encoded."""

    prefix: bool
    code: int
    length: int
    encoding: str | None    # n8, n16, a16, a8, e8 (signed), rel (JR), or None
    fixed: int | None       # the value a BIT/RES/SET bit number or RST vector must have


def _table_shape(operand: str):
    """(shape, encoding, fixed value) of one operand as the opcode table writes it."""
    if operand in ("n8", "n16", "a16", "e8"):
        return IMM, operand, None
    if operand in ("[a16]", "[a8]"):
        return MEM, operand[1:-1], None
    if operand == "SP+e8":
        return SP_OFFSET, "e8", None
    if operand.startswith("$"):
        return IMM, None, int(operand[1:], 16)
    if operand.isdigit():
        return IMM, None, int(operand)
    return operand, None, None


def _build_forms() -> dict:
    """{(MNEMONIC, shapes): [forms]} for every legal opcode of the table."""
    forms: dict = {}
    for table in (opcodes.BASE, opcodes.CB):
        for op in table:
            if op.illegal or op.mnemonic == "PREFIX":
                continue
            word, _, rest = op.mnemonic.partition(" ")
            shapes, encoding, fixed = [], None, None
            for operand in rest.split(",") if rest else ():
                shape, enc, value = _table_shape(operand)
                shapes.append(shape)
                encoding = encoding or enc
                fixed = value if value is not None else fixed
            if word == "JR":
                encoding = "rel"
            form = _Form(op.cb, op.code, op.length, encoding, fixed)
            forms.setdefault((word, tuple(shapes)), []).append(form)
    return forms


FORMS = _build_forms()


# -- expressions --------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>\$[0-9A-Fa-f_]+|%[01_]+|0[xX][0-9A-Fa-f_]+|[0-9][0-9_]*)
    | (?P<char>'(?:[^'\\]|\\.)')
    | (?P<gfx>`[0-3]{8})
    | (?P<name>\.?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
    | (?P<op><<|>>|[-+*/%&|^~()@,])
    )""", re.VERBOSE)

_BINARY = (("|",), ("^",), ("&",), ("<<", ">>"), ("+", "-"), ("*", "/", "%"))


def _tokenize(text: str) -> list:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot read {text[pos:].strip()!r} in expression {text!r}")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        follows_value = tokens and (tokens[-1][0] != "op" or tokens[-1][1] in ")@")
        if kind == "num" and value[0] == "%" and follows_value:
            # After a value, % is the remainder operator, not a binary number.
            kind, value = "op", "%"
            pos = match.start("num") + 1
        tokens.append((kind, value))
    return tokens


def _tile_row(digits: str) -> int:
    """A row of eight 2-bit pixels as the word whose low byte is bit plane 0."""
    low = high = 0
    for digit in digits:
        low = (low << 1) | (int(digit) & 1)
        high = (high << 1) | (int(digit) >> 1)
    return low | (high << 8)


def _number(text: str) -> int:
    text = text.replace("_", "")
    if text[0] == "$":
        return int(text[1:], 16)
    if text[0] == "%":
        return int(text[1:], 2)
    return int(text, 0) if text[:2].lower() == "0x" else int(text, 10)


class _Expression:
    """Recursive-descent evaluation of one expression; symbols come from ``lookup``."""

    def __init__(self, text: str, lookup):
        self.tokens = _tokenize(text)
        self.pos = 0
        self.lookup = lookup
        self.text = text

    def evaluate(self) -> int:
        if not self.tokens:
            raise ValueError("empty expression")
        value = self._binary(0)
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos][1]!r} in {self.text.strip()!r}")
        return value

    def _peek(self):
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self):
        token = self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)
        self.pos += 1
        return token

    def _binary(self, level: int) -> int:
        if level == len(_BINARY):
            return self._unary()
        value = self._binary(level + 1)
        while self._peek() in _BINARY[level]:
            op = self._take()[1]
            right = self._binary(level + 1)
            value = _apply(op, value, right)
        return value

    def _unary(self) -> int:
        token = self._peek()
        if token in ("-", "+", "~"):
            self._take()
            value = self._unary()
            return {"-": -value, "+": value, "~": ~value}[token]
        return self._primary()

    def _primary(self) -> int:
        kind, text = self._take()
        if kind == "num":
            return _number(text)
        if kind == "gfx":
            return _tile_row(text[1:])
        if kind == "char":
            body = text[1:-1]
            return ord(body.encode().decode("unicode_escape")) if body[0] == "\\" else ord(body)
        if text == "(":
            value = self._binary(0)
            if self._take()[1] != ")":
                raise ValueError(f"missing ')' in {self.text.strip()!r}")
            return value
        if text == "@":
            return self.lookup("@")
        if kind == "name":
            if text.upper() in ("LOW", "HIGH") and self._peek() == "(":
                self._take()
                value = self._binary(0)
                if self._take()[1] != ")":
                    raise ValueError(f"missing ')' after {text}( in {self.text.strip()!r}")
                return value & 0xFF if text.upper() == "LOW" else (value >> 8) & 0xFF
            return self.lookup(text)
        raise ValueError(f"expression expected in {self.text.strip()!r}"
                         if text is None else f"unexpected {text!r} in {self.text.strip()!r}")


def _apply(op: str, left: int, right: int) -> int:
    if op in ("/", "%") and right == 0:
        raise ValueError("division by zero")
    if op in ("<<", ">>") and right < 0:
        raise ValueError("negative shift count")
    return {
        "|": lambda: left | right, "^": lambda: left ^ right, "&": lambda: left & right,
        "<<": lambda: left << right, ">>": lambda: left >> right,
        "+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
        "/": lambda: int(left / right), "%": lambda: left - right * int(left / right),
    }[op]()


# -- source lines -------------------------------------------------------------------------

def _strip_comment(line: str) -> str:
    """The line without its ``;`` comment (a ``;`` inside quotes stays)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == "\\":
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == ";":
            return line[:i]
    return line


def _split_operands(text: str) -> list[str]:
    """Split at commas outside quotes, brackets and parentheses."""
    parts, depth, quote, current = [], 0, None, []
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    tail = "".join(current).strip()
    if tail or parts:
        parts.append(tail)
    return parts


def _string_literal(text: str) -> bytes | None:
    """The bytes of a "quoted" operand (with \\n, \\t, \\0, \\\\ and \\" escapes), else None."""
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return None
    return text[1:-1].encode("latin-1").decode("unicode_escape").encode("latin-1")


_LABEL = re.compile(r"^\s*(\.?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)(::?)?")
_EQU = re.compile(r"^\s*(?:DEF\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+EQU\s+(.+)$", re.IGNORECASE)
_SECTION = re.compile(r"""^"([^"]*)"\s*,\s*([A-Za-z0-9]+)\s*\[(.+?)\]
                          (?:\s*,\s*BANK\s*\[(.+)\])?\s*$""", re.IGNORECASE | re.VERBOSE)


@dataclass
class _Statement:
    """One instruction or data directive, placed at an address in the first pass."""

    file: str
    line: int
    scope: str
    address: int
    offset: int | None        # where its bytes go in the image; None in RAM sections
    word: str
    operands: list
    size: int


@dataclass
class Program:
    """The result of assembling: the ROM image and the symbol table."""

    image: bytes
    symbols: dict = field(default_factory=dict)


class Assembler:
    """Assembles one source file (and what it includes) into a cartridge image."""

    def __init__(self, symbols: dict | None = None):
        self.predefined = dict(symbols or {})

    def assemble_file(self, path) -> Program:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise AsmError(str(path), 0, f"cannot read: {err.strerror}") from None
        return self.assemble(text, str(path))

    def assemble(self, text: str, filename: str = "<source>") -> Program:
        self._reset()
        self._first_pass(text, filename, depth=0)
        image = self._second_pass()
        self._fill_header(image)
        return Program(bytes(image), {k: v for k, v in self.labels.items()})

    # -- pass 1 ---------------------------------------------------------------------

    def _reset(self):
        self.labels: dict = {}
        self.constants: dict = {}      # name -> (expression, file, line, scope)
        self.statements: list = []
        self.scope = ""
        self.title = b""
        self.cart_type = 0
        self.ram_size_code = 0
        self.header_set: dict = {}
        self.evaluating: set = set()
        self._section(None, "ROM0", 0, None, "<start>", 0)

    def _section(self, name, kind, address, bank, file, line):
        if kind in ROM_KINDS:
            low, high = ROM_KINDS[kind]
            if kind == "ROMX":
                bank = 1 if bank is None else bank
                if bank < 1:
                    raise AsmError(file, line, "ROMX banks start at 1")
                base = bank * ROM_BANK_SIZE - low
            else:
                if bank not in (None, 0):
                    raise AsmError(file, line, "ROM0 has no bank number")
                base = 0
        elif kind in RAM_KINDS:
            low, high = RAM_KINDS[kind]
            base = None
        else:
            raise AsmError(file, line, f"unknown section type {kind!r}")
        if not low <= address < high:
            raise AsmError(file, line, f"address ${address:04X} is outside {kind} "
                                       f"(${low:04X}-${high - 1:04X})")
        self.region = (kind, low, high, base)
        self.address = address

    def _offset(self):
        base = self.region[3]
        return None if base is None else base + self.address

    def _advance(self, size: int, file: str, line: int):
        kind, low, high, _base = self.region
        if self.address + size > high:
            raise AsmError(file, line, f"{kind} section runs past ${high - 1:04X}")
        self.address += size

    def _first_pass(self, text: str, filename: str, depth: int):
        for number, raw in enumerate(text.splitlines(), 1):
            try:
                self._first_pass_line(_strip_comment(raw), filename, number, depth)
            except AsmError:
                raise
            except (ValueError, _Undefined) as err:
                raise AsmError(filename, number, str(err)) from None

    def _first_pass_line(self, line: str, file: str, number: int, depth: int):
        if not line.strip():
            return
        equ = _EQU.match(line)
        if equ:
            name = equ.group(1)
            self._check_new_symbol(name, file, number)
            self.constants[name] = (equ.group(2), file, number, self.scope)
            return
        label = _LABEL.match(line)
        if label and (label.group(2) or line[label.end():].strip() == ""
                      and label.group(1).startswith(".")):
            self._define_label(label.group(1), file, number)
            line = line[label.end():]
            if not line.strip():
                return
        word, _, rest = line.strip().replace("\t", " ").partition(" ")
        word = word.upper()
        rest = rest.strip()
        handler = {
            "SECTION": self._do_section, "ORG": self._do_org, "INCLUDE": self._do_include,
            "TITLE": self._do_title, "CARTTYPE": self._do_header_byte,
            "RAMSIZE": self._do_header_byte,
        }.get(word)
        if handler:
            handler(word, rest, file, number, depth)
            return
        operands = _split_operands(rest) if rest else []
        size = self._size(word, operands, file, number)
        offset = self._offset()
        if offset is None and word != "DS":
            raise AsmError(file, number, f"{word} in a RAM section: only DS and labels go there")
        self.statements.append(_Statement(file, number, self.scope, self.address, offset,
                                          word, operands, size))
        self._advance(size, file, number)

    def _check_new_symbol(self, name: str, file: str, line: int):
        if name in self.labels or name in self.constants or name in self.predefined:
            raise AsmError(file, line, f"{name} is already defined")
        if name.upper() in REGISTERS or name.upper() in ("LOW", "HIGH"):
            raise AsmError(file, line, f"{name} is a reserved word")

    def _define_label(self, name: str, file: str, line: int):
        if name.startswith("."):
            if not self.scope:
                raise AsmError(file, line, f"local label {name} before any global label")
            name = self.scope + name
        elif "." not in name:
            self.scope = name
        self._check_new_symbol(name, file, line)
        self.labels[name] = self.address

    def _do_section(self, _word, rest, file, line, _depth):
        match = _SECTION.match(rest)
        if not match:
            raise AsmError(file, line, 'expected SECTION "name", TYPE[address]')
        address = self._constant(match.group(3), file, line)
        bank = self._constant(match.group(4), file, line) if match.group(4) else None
        self._section(match.group(1), match.group(2).upper(), address, bank, file, line)

    def _do_org(self, _word, rest, file, line, _depth):
        address = self._constant(rest, file, line)
        kind, low, high, _base = self.region
        if not low <= address < high:
            raise AsmError(file, line, f"ORG ${address:04X} is outside the {kind} section")
        self.address = address

    def _do_include(self, word, rest, file, line, depth):
        name = _string_literal(rest)
        if name is None:
            raise AsmError(file, line, f'{word} needs a "file name"')
        path = Path(file).parent / name.decode("latin-1")
        if depth >= MAX_INCLUDE_DEPTH:
            raise AsmError(file, line, f"includes nested deeper than {MAX_INCLUDE_DEPTH}")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise AsmError(file, line, f"cannot include {path}: {err.strerror}") from None
        self._first_pass(text, str(path), depth + 1)

    def _do_title(self, _word, rest, file, line, _depth):
        title = _string_literal(rest)
        if title is None:
            raise AsmError(file, line, 'TITLE needs a "text"')
        if len(title) > TITLE_LENGTH:
            raise AsmError(file, line, f"title longer than {TITLE_LENGTH} characters")
        self.title = title

    def _do_header_byte(self, word, rest, file, line, _depth):
        value = self._constant(rest, file, line)
        if not 0 <= value <= 0xFF:
            raise AsmError(file, line, f"{word} ${value:X} does not fit in a byte")
        if word == "CARTTYPE":
            self.cart_type = value
        else:
            self.ram_size_code = value

    def _constant(self, text: str, file: str, line: int) -> int:
        """An expression that must be known in the first pass (addresses, sizes, banks)."""
        try:
            return self._evaluate(text, self.scope, self.address)
        except _Undefined as err:
            raise AsmError(file, line, f"{err} (this value must be known where it is used)")
        except ValueError as err:
            raise AsmError(file, line, str(err)) from None

    def _size(self, word: str, operands: list, file: str, line: int) -> int:
        if word == "DB":
            return sum(len(_string_literal(op)) if _string_literal(op) is not None else 1
                       for op in operands)
        if word == "DW":
            return 2 * len(operands)
        if word == "DS":
            if not 1 <= len(operands) <= 2:
                raise AsmError(file, line, "DS takes a count and an optional fill byte")
            count = self._constant(operands[0], file, line)
            if count < 0:
                raise AsmError(file, line, "DS with a negative count")
            return count
        if word == "INCBIN":
            return len(self._incbin(operands, file, line))
        return self._match(word, operands, file, line)[0].length

    def _incbin(self, operands: list, file: str, line: int) -> bytes:
        name = _string_literal(operands[0]) if operands else None
        if name is None or len(operands) > 3:
            raise AsmError(file, line, 'INCBIN "file"[, offset[, length]]')
        path = Path(file).parent / name.decode("latin-1")
        try:
            data = path.read_bytes()
        except OSError as err:
            raise AsmError(file, line, f"cannot read {path}: {err.strerror}") from None
        start = self._constant(operands[1], file, line) if len(operands) > 1 else 0
        length = (self._constant(operands[2], file, line) if len(operands) > 2
                  else len(data) - start)
        if start < 0 or length < 0 or start + length > len(data):
            raise AsmError(file, line, f"INCBIN range outside {path} ({len(data)} bytes)")
        return data[start:start + length]

    # -- instruction matching ---------------------------------------------------------

    def _match(self, word: str, operands: list, file: str, line: int):
        """(form, value expression or None) for an instruction, or an AsmError."""
        shaped = [_shape(op) for op in operands]
        shapes = tuple(shape for shape, _expr in shaped)
        forms = FORMS.get((word, shapes))
        if forms is None and word in ALU_NAMES and len(shapes) == 1:
            shaped = [("A", None)] + shaped
            shapes = ("A",) + shapes
            forms = FORMS.get((word, shapes))
        if forms is None:
            if not any(key[0] == word for key in FORMS):
                raise AsmError(file, line, f"unknown instruction or directive {word!r}")
            raise AsmError(file, line, f"{word} cannot take operands "
                                       f"{', '.join(operands) or '(none)'}")
        expr = next((e for _shape_, e in shaped if e is not None), None)
        if len(forms) == 1 and forms[0].fixed is None:
            return forms[0], expr
        value = self._constant(expr, file, line)
        for form in forms:
            if form.fixed == value:
                return form, None
        allowed = ", ".join(f"${f.fixed:02X}" if word == "RST" else str(f.fixed) for f in forms)
        raise AsmError(file, line, f"{word} takes {allowed}, not {value}")

    # -- pass 2 ---------------------------------------------------------------------

    def _second_pass(self) -> bytearray:
        end = max((st.offset + st.size for st in self.statements if st.offset is not None),
                  default=0)
        size = MIN_ROM_SIZE
        while size < end:
            size *= 2
        image = bytearray([PAD_BYTE]) * size
        owner = [None] * size
        for st in self.statements:
            try:
                data = self._encode(st)
            except _Undefined as err:
                raise AsmError(st.file, st.line, str(err)) from None
            except ValueError as err:
                raise AsmError(st.file, st.line, str(err)) from None
            if st.offset is None:
                continue
            for i in range(len(data)):
                previous = owner[st.offset + i]
                if previous is not None:
                    raise AsmError(st.file, st.line,
                                   f"overlaps the bytes written at {previous[0]}:{previous[1]}")
                owner[st.offset + i] = (st.file, st.line)
            image[st.offset:st.offset + len(data)] = data
        self.owner = owner
        return image

    def _value(self, st: _Statement, text: str) -> int:
        return self._evaluate(text, st.scope, st.address)

    def _encode(self, st: _Statement) -> bytes:
        if st.word == "DB":
            out = bytearray()
            for op in st.operands:
                text = _string_literal(op)
                if text is not None:
                    out += text
                else:
                    out.append(_fit(self._value(st, op), 8, op))
            return bytes(out)
        if st.word == "DW":
            out = bytearray()
            for op in st.operands:
                out += _fit(self._value(st, op), 16, op).to_bytes(2, "little")
            return bytes(out)
        if st.word == "DS":
            fill = self._value(st, st.operands[1]) if len(st.operands) > 1 else 0
            return bytes([_fit(fill, 8, st.operands[-1])]) * st.size
        if st.word == "INCBIN":
            return self._incbin(st.operands, st.file, st.line)
        form, expr = self._match(st.word, st.operands, st.file, st.line)
        out = bytearray((opcodes.CB_PREFIX, form.code) if form.prefix else (form.code,))
        if form.encoding is None:
            # STOP is two bytes: the CPU skips the one after it.
            return bytes(out) + bytes(form.length - len(out))
        value = self._value(st, expr)
        if form.encoding == "rel":
            offset = value - (st.address + form.length)
            if not -128 <= offset <= 127:
                raise ValueError(f"JR target ${value & 0xFFFF:04X} is {offset} bytes away "
                                 "(JR reaches -128 to +127)")
            out.append(offset & 0xFF)
        elif form.encoding == "e8":
            if not -128 <= value <= 127:
                raise ValueError(f"offset {value} outside -128..127")
            out.append(value & 0xFF)
        elif form.encoding == "a8":
            if not (0 <= value <= 0xFF or HIGH_PAGE <= value <= 0xFFFF):
                raise ValueError(f"LDH address ${value & 0xFFFF:04X} is not in $FF00-$FFFF")
            out.append(value & 0xFF)
        elif form.encoding == "n8":
            out.append(_fit(value, 8, expr))
        else:
            out += _fit(value, 16, expr).to_bytes(2, "little")
        return bytes(out)

    # -- symbols ----------------------------------------------------------------------

    def _evaluate(self, text: str, scope: str, address: int) -> int:
        def lookup(name: str) -> int:
            if name == "@":
                return address
            if name.startswith("."):
                name = scope + name
            if name in self.labels:
                return self.labels[name]
            if name in self.constants:
                if name in self.evaluating:
                    raise ValueError(f"{name} is defined in terms of itself")
                expr, _file, _line, def_scope = self.constants[name]
                self.evaluating.add(name)
                try:
                    return self._evaluate(expr, def_scope, address)
                finally:
                    self.evaluating.discard(name)
            if name in self.predefined:
                return self.predefined[name]
            raise _Undefined(f"undefined symbol {name}")

        return _Expression(text, lookup).evaluate()

    # -- the cartridge header ---------------------------------------------------------

    def _fill_header(self, image: bytearray):
        for address in range(HEADER_START, HEADER_END):
            if self.owner[address] is not None:
                file, line = self.owner[address]
                raise AsmError(file, line, f"writes into the cartridge header at ${address:04X}"
                                           " (the assembler fills $0104-$014F)")
        image[HEADER_START:HEADER_END] = bytes(HEADER_END - HEADER_START)
        image[HEADER_START:HEADER_START + len(NINTENDO_LOGO)] = NINTENDO_LOGO
        image[TITLE_ADDRESS:TITLE_ADDRESS + len(self.title)] = self.title
        image[CART_TYPE_ADDRESS] = self.cart_type
        image[ROM_SIZE_ADDRESS] = (len(image) // MIN_ROM_SIZE).bit_length() - 1
        image[RAM_SIZE_ADDRESS] = self.ram_size_code
        image[DESTINATION_ADDRESS] = DESTINATION_OVERSEAS
        image[HEADER_CHECKSUM_ADDRESS] = compute_header_checksum(bytes(image))
        total = (sum(image) - image[GLOBAL_CHECKSUM_ADDRESS]
                 - image[GLOBAL_CHECKSUM_ADDRESS + 1]) & 0xFFFF
        image[GLOBAL_CHECKSUM_ADDRESS:GLOBAL_CHECKSUM_ADDRESS + 2] = total.to_bytes(2, "big")


def _shape(operand: str):
    """(shape, value expression or None) of one source operand."""
    text = operand.strip()
    upper = " ".join(text.upper().split())
    upper = OPERAND_ALIASES.get(upper.replace(" ", ""), upper)
    compact = upper.replace(" ", "")
    if compact in REGISTERS or compact in ("[HL]", "[BC]", "[DE]", "[HL+]", "[HL-]", "[C]"):
        return compact, None
    match = re.fullmatch(r"SP\s*([+-])(.+)", text, re.IGNORECASE)
    if match:
        sign, rest = match.groups()
        return SP_OFFSET, rest if sign == "+" else f"-({rest})"
    if text.startswith("[") and text.endswith("]"):
        return MEM, text[1:-1]
    return IMM, text


def _fit(value: int, bits: int, text: str) -> int:
    """value as an unsigned field of ``bits``; negative values down to -2**(bits-1) wrap."""
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise ValueError(f"{text.strip()} = {value} does not fit in {bits} bits")
    return value & ((1 << bits) - 1)


def hardware_symbols() -> dict:
    """The I/O register and bit names of gbemu.core.hwio, for sources to use by name."""
    from gbemu.core import hwio

    return {name: value for name, value in vars(hwio).items()
            if name.isupper() and isinstance(value, int) and not name.startswith("EV_")
            and not name.startswith("MBC_")}


def assemble_file(path, symbols: dict | None = None) -> bytes:
    """Assemble the source at ``path`` into a cartridge image (hardware names predefined)."""
    predefined = hardware_symbols()
    predefined.update(symbols or {})
    return Assembler(predefined).assemble_file(path).image
