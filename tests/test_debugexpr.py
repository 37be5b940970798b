"""Debugger expressions: numbers, registers, flags, memory, operators and errors."""

from __future__ import annotations

import pytest

from gbemu.debugexpr import ExprError, compile_expr, parse_number


class Machine:
    """A stand-in for the debugger's view: registers, flags and 64 KiB of memory."""

    def __init__(self, **regs):
        self.regs = {"A": 0x12, "F": 0xB0, "B": 0x34, "C": 0x56, "D": 0, "E": 0x08,
                     "H": 0xC0, "L": 0x10, "SP": 0xFFFE, "PC": 0x0150}
        self.regs.update(regs)
        self.memory = bytearray(0x10000)
        self.reads = []

    def reg(self, name):
        if len(name) == 2 and name not in ("SP", "PC"):
            return self.regs[name[0]] << 8 | self.regs[name[1]]
        return self.regs[name]

    def flag(self, letter):
        return bool(self.regs["F"] & {"Z": 0x80, "N": 0x40, "H": 0x20, "C": 0x10}[letter])

    def read(self, addr):
        assert 0 <= addr <= 0xFFFF
        self.reads.append(addr)
        return self.memory[addr]


NAMES = {"LY": 0xFF44, "main": 0x0150, "hram.counter": 0xFF80, "check@fail7": 0x4A07}


def value(text, machine=None):
    return compile_expr(text, NAMES.get).evaluate(machine or Machine())


@pytest.mark.parametrize("text, number", [
    ("$1F", 31), ("$ff80", 0xFF80), ("0x1F", 31), ("0X1f", 31), ("1Fh", 31), ("0FFh", 255),
    ("%1010", 10), ("0b1010", 10), ("31", 31), ("0", 0), (" 42 ", 42),
])
def test_parse_number_forms(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["", "$", "0x", "FFh", "1G", "%102", "0b", "-1", "A"])
def test_parse_number_rejects(text):
    assert parse_number(text) is None


def test_registers_any_case_and_pairs():
    machine = Machine()
    assert value("a", machine) == 0x12
    assert value("HL", machine) == 0xC010
    assert value("bc", machine) == 0x3456
    assert value("Sp", machine) == 0xFFFE
    assert value("pc", machine) == 0x0150
    assert value("f", machine) == 0xB0
    assert value("h", machine) == 0xC0


def test_flags_are_one_or_zero():
    machine = Machine(F=0x90)                       # Z and C set
    assert [value(flag, machine) for flag in ("ZF", "nf", "HF", "cf")] == [1, 0, 0, 1]
    assert value("H", machine) == 0xC0              # H alone is the register


@pytest.mark.parametrize("text, result", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("100 / 10 / 5", 2),
    ("7 / 2", 3), ("-7 / 2", -3), ("-7 % 2", -1), ("7 % -2", 1), ("17 % 5", 2),
    ("1 << 4 + 1", 32), ("$F0 >> 4", 0xF), ("1 + 2 == 3", 1), ("2 < 3 == 1", 1),
    ("6 & 3 | 8", 10), ("6 | 3 & 8", 6), ("5 ^ 1 | 2", 6), ("~0", -1), ("-$10", -16),
    ("!0", 1), ("!5", 0), ("not 0 and 2", 1), ("0 or 0", 0), ("1 || 0 && 0", 1),
    ("(1 || 0) && 0", 0), ("3 >= 3", 1), ("3 > 3", 0), ("2 <= 1", 0), ("4 != 4", 0),
    ("%11 % %10", 1), ("5%%11", 2), ("$ff + 1", 0x100), ("1 && 7", 1), ("0b11 * 10h", 48),
])
def test_operators_follow_c_precedence(text, result):
    assert value(text) == result


def test_names_are_resolved_at_compile_time():
    looked_up = []
    expr = compile_expr("main + 3 == pc - 0", lambda name: looked_up.append(name) or
                        NAMES.get(name))
    assert looked_up == ["main"]
    assert expr.evaluate(Machine(PC=0x0153)) == 1
    assert value("check@fail7") == 0x4A07
    assert value("hram.counter + 1") == 0xFF81


def test_memory_reads_byte_and_word():
    machine = Machine()
    machine.memory[0xFF44] = 0x90
    machine.memory[0xC010:0xC012] = bytes([0x34, 0x12])
    machine.memory[0xFFFF], machine.memory[0x0000] = 0xCD, 0xAB
    assert value("[LY] == $90", machine) == 1
    assert value("[hl]", machine) == 0x34
    assert value("[hl].w", machine) == 0x1234
    assert value("[HL + 1]", machine) == 0x12
    assert value("[$FFFF].W", machine) == 0xABCD       # the high byte wraps to $0000
    assert value("[$1FFFF]", machine) == 0xCD          # addresses wrap at $10000
    assert value("[[hl] + $C000 - $24]", machine) == 0x34


def test_condition_combines_state():
    expr = compile_expr("pc == main && a == $12 and ([LY] >= 144 || zf)", NAMES.get)
    machine = Machine(F=0x00)
    assert expr.evaluate(machine) == 0
    machine.memory[0xFF44] = 144
    assert expr.evaluate(machine) == 1
    assert expr.evaluate(Machine(F=0x80)) == 1
    assert expr.evaluate(Machine(A=0x13, F=0x80)) == 0


def test_logic_stops_early():
    machine = Machine()
    assert value("0 && [$C000]", machine) == 0
    assert value("1 || [$C000]", machine) == 1
    assert machine.reads == []


def test_constant_expressions_are_folded():
    assert compile_expr("main + $10", NAMES.get).constant == 0x160
    assert compile_expr("(1 + 2) * 3").constant == 9
    assert compile_expr("pc + 1").constant is None
    assert compile_expr("[$C000]").constant is None


@pytest.mark.parametrize("text, message", [
    ("", "empty expression"),
    ("1 +", "expected a value at column 4, found the end"),
    ("(1 + 2", "expected ')' at column 7, found the end"),
    ("[hl", "expected ']' at column 4, found the end"),
    ("1 2", "unexpected '2' at column 3"),
    ("a = 1", "unexpected '=' at column 3 (compare with ==)"),
    ("nosuch + 1", "unknown name 'nosuch' at column 1"),
    ("C000h", "unknown name 'C000h' at column 1 (hex is written $C000)"),
    ("0x", "bad number '0x' at column 1"),
    ("12ab", "bad number '12ab' at column 1"),
    ("%2", "unexpected '%' at column 1"),
    ("1 / 0", "division by zero"),
    ("1 << -1", "negative shift count -1"),
    ("1 << 100", "shift count 100 is over 64"),
    ("a ? 1", "unexpected '?' at column 3"),
])
def test_errors_are_one_line_messages(text, message):
    with pytest.raises(ExprError) as caught:
        compile_expr(text, NAMES.get)
    assert str(caught.value) == message


def test_errors_while_evaluating():
    expr = compile_expr("100 / [$C000]")
    with pytest.raises(ExprError, match="division by zero"):
        expr.evaluate(Machine())


def test_without_a_names_function_only_machine_names_work():
    assert compile_expr("a + 1").evaluate(Machine()) == 0x13
    with pytest.raises(ExprError, match="unknown name 'main'"):
        compile_expr("main")
