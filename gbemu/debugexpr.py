"""Debugger expressions: addresses and breakpoint conditions ("break ADDR if COND").

An expression is compiled once by compile_expr() and evaluated each time a
breakpoint or watchpoint fires, against a context that offers the machine's
registers, flags and memory. Syntax:

    numbers     $1F  0x1F  1Fh (must begin with a digit: 0C000h)  %1010  0b1010  31
    registers   A B C D E H L F AF BC DE HL SP PC, in any case
    flags       ZF NF HF CF, in any case (1 when set); H alone is the register
    memory      [expr] reads the byte at expr; [expr].w reads the little-endian word
                at expr (low byte first, the address wraps at $FFFF)
    names       any other identifier (letters, digits, _ . @ # $; not starting with a
                digit) is looked up once, at compile time, through names(): symbols,
                I/O register names (LY, STAT ...)
    operators   by C precedence, tightest first:
                    unary - + ~ ! not
                    * / %          (/ and % truncate toward zero, as in C)
                    + -
                    << >>
                    < <= > >=
                    == !=
                    &
                    ^
                    |
                    && and
                    || or
                and parentheses. Comparisons and logic give 1 or 0; && and || stop
                early; any nonzero value is true.

Values are Python integers: nothing wraps except memory addresses (taken
modulo $10000), so ~0 is -1 and $FF+1 is $100. A `%` where an operand is
expected starts a binary number; after an operand it is the remainder.

Errors (bad syntax, an unknown name, division by zero) raise ExprError with a
one-line message giving the column where it applies.
"""

from __future__ import annotations

import operator
import re
from typing import Callable, Protocol

__all__ = ["Expr", "ExprError", "EvalContext", "compile_expr", "parse_number",
           "REGISTERS", "FLAGS"]

REGISTERS = ("A", "F", "B", "C", "D", "E", "H", "L", "AF", "BC", "DE", "HL", "SP", "PC")
FLAGS = {"ZF": "Z", "NF": "N", "HF": "H", "CF": "C"}
MAX_SHIFT = 64          # a larger << would only build huge integers


class ExprError(Exception):
    """A debugger expression that cannot be compiled or evaluated (one-line message)."""


class EvalContext(Protocol):
    """What an expression reads: the machine as the debugger sees it."""

    def reg(self, name: str) -> int: ...       # name from REGISTERS, upper case
    def flag(self, letter: str) -> bool: ...   # "Z", "N", "H" or "C"
    def read(self, addr: int) -> int: ...      # the byte at a CPU address, $0000-$FFFF


_NUMBER_FORMS = (
    (re.compile(r"\$([0-9A-Fa-f]+)"), 16),
    (re.compile(r"0[xX]([0-9A-Fa-f]+)"), 16),
    (re.compile(r"0[bB]([01]+)"), 2),
    (re.compile(r"%([01]+)"), 2),
    (re.compile(r"([0-9][0-9A-Fa-f]*)[hH]"), 16),
    (re.compile(r"([0-9]+)"), 10),
)


def parse_number(text: str) -> int | None:
    """The value of a number literal ($1F 0x1F 1Fh %1010 0b1010 31), else None."""
    text = text.strip()
    for pattern, base in _NUMBER_FORMS:
        match = pattern.fullmatch(text)
        if match:
            return int(match.group(1), base)
    return None


# Tokens: (kind, text, column), kind one of "num", "name", "op", "end".
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<num>\$\w*|[0-9]\w*)
  | (?P<name>[A-Za-z_.@][\w.@#$]*)
  | (?P<op><<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>()\[\]])
""", re.VERBOSE | re.ASCII)
_BINARY_NUMBER = re.compile(r"(?P<num>%[01]+)")     # only where an operand is expected
_HEX_LOOKALIKE = re.compile(r"([0-9A-Fa-f]+?)[hH]?")

_KEYWORDS = {"and": "&&", "or": "||", "not": "!"}


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    """Split an expression into tokens, checking that each number literal parses."""
    tokens = []
    pos = 0
    while pos < len(text):
        after_operand = bool(tokens) and (tokens[-1][0] in ("num", "name")
                                          or tokens[-1][1] in (")", "]"))
        match = None
        if text[pos] == "%" and not after_operand:
            match = _BINARY_NUMBER.match(text, pos)
        elif text[pos] != "%" or after_operand:
            match = _TOKEN.match(text, pos)
        if not match:
            hint = " (compare with ==)" if text[pos] == "=" else ""
            raise ExprError(f"unexpected {text[pos]!r} at column {pos + 1}{hint}")
        kind, word = match.lastgroup, match.group()
        if kind == "num" and parse_number(word) is None:
            raise ExprError(f"bad number {word!r} at column {pos + 1}")
        if kind == "name" and word.lower() in _KEYWORDS:
            kind, word = "op", _KEYWORDS[word.lower()]
        if kind != "space":
            tokens.append((kind, word, pos + 1))
        pos = match.end()
    tokens.append(("end", "", len(text) + 1))
    return tokens


def _c_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as C does."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


_BINARY = {
    "*": operator.mul, "/": _c_div, "%": lambda a, b: a - b * _c_div(a, b),
    "+": operator.add, "-": operator.sub, "<<": operator.lshift, ">>": operator.rshift,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne, "&": operator.and_, "^": operator.xor,
    "|": operator.or_,
}
# Binding strength of each binary operator (higher binds tighter), C's order.
_PRECEDENCE = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9,
    "*": 10, "/": 10, "%": 10,
}
_UNARY = {"-": operator.neg, "+": operator.pos, "~": operator.invert,
          "!": lambda v: int(not v)}

# A compiled node: (evaluate(ctx) -> int, the value when it reads no machine state).
Node = tuple[Callable[[object], int], "int | None"]


def _apply(op: str, a: int, b: int) -> int:
    """One binary operation, with the errors a user can cause reported as ExprError."""
    if op in ("/", "%") and b == 0:
        raise ExprError("division by zero")
    if op in ("<<", ">>") and b < 0:
        raise ExprError(f"negative shift count {b}")
    if op == "<<" and b > MAX_SHIFT:
        raise ExprError(f"shift count {b} is over {MAX_SHIFT}")
    return int(_BINARY[op](a, b))


class _Parser:
    """Precedence-climbing parser that builds evaluation closures from tokens."""

    def __init__(self, text: str, names: Callable[[str], int | None] | None):
        self.tokens = _tokenize(text)
        self.pos = 0
        self.names = names

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        kind, word, column = self.take()
        if word != text or kind != "op":
            found = f"{word!r}" if kind != "end" else "the end"
            raise ExprError(f"expected {text!r} at column {column}, found {found}")

    def parse(self) -> Node:
        if self.peek()[0] == "end":
            raise ExprError("empty expression")
        node = self.binary(1)
        kind, word, column = self.peek()
        if kind != "end":
            raise ExprError(f"unexpected {word!r} at column {column}")
        return node

    def binary(self, min_precedence: int) -> Node:
        left = self.unary()
        while True:
            kind, op, _ = self.peek()
            precedence = _PRECEDENCE.get(op, 0) if kind == "op" else 0
            if precedence < min_precedence:
                return left
            self.take()
            right = self.binary(precedence + 1)
            left = _combine(op, left, right)

    def unary(self) -> Node:
        kind, word, _ = self.peek()
        if kind == "op" and word in _UNARY:
            self.take()
            fn, const = self.unary()
            op = _UNARY[word]
            if const is not None:
                return _constant(op(const))
            return (lambda ctx: op(fn(ctx))), None
        return self.postfix()

    def postfix(self) -> Node:
        kind, word, column = self.take()
        if kind == "num":
            return _constant(parse_number(word))
        if kind == "name":
            return self.name(word, column)
        if word == "(":
            node = self.binary(1)
            self.expect(")")
            return node
        if word == "[":
            addr_fn, _ = self.binary(1)
            self.expect("]")
            after_kind, after, _ = self.peek()
            if after_kind == "name" and after.lower() == ".w":
                self.take()
                return (lambda ctx: _read_word(ctx, addr_fn(ctx))), None
            return (lambda ctx: ctx.read(addr_fn(ctx) & 0xFFFF)), None
        found = f"{word!r}" if kind != "end" else "the end"
        raise ExprError(f"expected a value at column {column}, found {found}")

    def name(self, word: str, column: int) -> Node:
        upper = word.upper()
        if upper in REGISTERS:
            return (lambda ctx: ctx.reg(upper)), None
        if upper in FLAGS:
            letter = FLAGS[upper]
            return (lambda ctx: int(bool(ctx.flag(letter)))), None
        value = self.names(word) if self.names is not None else None
        if value is None:
            hex_digits = _HEX_LOOKALIKE.fullmatch(word)
            hint = f" (hex is written ${hex_digits.group(1)})" if hex_digits else ""
            raise ExprError(f"unknown name {word!r} at column {column}{hint}")
        return _constant(int(value))


def _constant(value: int) -> Node:
    return (lambda ctx: value), value


def _read_word(ctx, addr: int) -> int:
    """The little-endian word at addr (the high byte from addr+1, wrapping at $FFFF)."""
    return ctx.read(addr & 0xFFFF) | ctx.read((addr + 1) & 0xFFFF) << 8


def _combine(op: str, left: Node, right: Node) -> Node:
    """The node for `left op right`, folded when both sides are constants."""
    (lfn, lconst), (rfn, rconst) = left, right
    if op == "&&":
        if lconst is not None and rconst is not None:
            return _constant(int(bool(lconst) and bool(rconst)))
        return (lambda ctx: int(bool(lfn(ctx)) and bool(rfn(ctx)))), None
    if op == "||":
        if lconst is not None and rconst is not None:
            return _constant(int(bool(lconst) or bool(rconst)))
        return (lambda ctx: int(bool(lfn(ctx)) or bool(rfn(ctx)))), None
    if lconst is not None and rconst is not None:
        return _constant(_apply(op, lconst, rconst))
    return (lambda ctx: _apply(op, lfn(ctx), rfn(ctx))), None


class Expr:
    """A compiled expression; evaluate(ctx) gives its value for the machine now."""

    def __init__(self, text: str, node: Node):
        self.text = text
        self._fn, self._const = node

    @property
    def constant(self) -> int | None:
        """The value if the expression reads no register, flag or memory, else None."""
        return self._const

    def evaluate(self, ctx: EvalContext) -> int:
        """The expression's value with ctx's registers, flags and memory."""
        return self._fn(ctx)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


def compile_expr(text: str, names: Callable[[str], int | None] | None = None) -> Expr:
    """Compile an expression; names(identifier) gives the value of any other name
    (or None when unknown). Raises ExprError on bad syntax or an unknown name."""
    return Expr(text.strip(), _Parser(text, names).parse())
