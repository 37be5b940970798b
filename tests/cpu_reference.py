"""A plain-Python model of the SM83 instruction set, the oracle for tests/test_cpu.py.

It is written from the instruction descriptions in Pan Docs ("CPU Instruction Set"
and "CPU Registers and Flags") and shares no code with gbemu: the opcode map below is
typed out by hand as Pan Docs prints it, and each instruction is interpreted from its
mnemonic. Timing is not modelled; the tests take cycle counts from gbemu.opcodes and
only need to know whether a conditional branch was taken.

The model has a flat 64 KiB memory, like the core's flat test bus, so there is no I/O,
no interrupt request and no timer: HALT simply halts and STOP simply stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FLAG_Z = 0x80
FLAG_N = 0x40
FLAG_H = 0x20
FLAG_C = 0x10

# The core's register file order (gbemu.core.state.r8): B C D E H L F A.
REGISTER_ORDER = ("B", "C", "D", "E", "H", "L", "F", "A")
REGISTERS_8 = frozenset(("A", "B", "C", "D", "E", "H", "L"))
PAIRS = {"BC": ("B", "C"), "DE": ("D", "E"), "HL": ("H", "L"), "AF": ("A", "F")}
MEMORY_BY_PAIR = {"[BC]": "BC", "[DE]": "DE", "[HL]": "HL"}

# The unprefixed opcode map, row by row ($x0-$xF), as Pan Docs lays it out.
_ROW_0 = ("NOP", "LD BC,n16", "LD [BC],A", "INC BC", "INC B", "DEC B", "LD B,n8", "RLCA",
          "LD [a16],SP", "ADD HL,BC", "LD A,[BC]", "DEC BC", "INC C", "DEC C", "LD C,n8",
          "RRCA")
_ROW_1 = ("STOP", "LD DE,n16", "LD [DE],A", "INC DE", "INC D", "DEC D", "LD D,n8", "RLA",
          "JR e8", "ADD HL,DE", "LD A,[DE]", "DEC DE", "INC E", "DEC E", "LD E,n8", "RRA")
_ROW_2 = ("JR NZ,e8", "LD HL,n16", "LD [HL+],A", "INC HL", "INC H", "DEC H", "LD H,n8",
          "DAA", "JR Z,e8", "ADD HL,HL", "LD A,[HL+]", "DEC HL", "INC L", "DEC L",
          "LD L,n8", "CPL")
_ROW_3 = ("JR NC,e8", "LD SP,n16", "LD [HL-],A", "INC SP", "INC [HL]", "DEC [HL]",
          "LD [HL],n8", "SCF", "JR C,e8", "ADD HL,SP", "LD A,[HL-]", "DEC SP", "INC A",
          "DEC A", "LD A,n8", "CCF")
_ROW_C = ("RET NZ", "POP BC", "JP NZ,a16", "JP a16", "CALL NZ,a16", "PUSH BC", "ADD A,n8",
          "RST $00", "RET Z", "RET", "JP Z,a16", "PREFIX", "CALL Z,a16", "CALL a16",
          "ADC A,n8", "RST $08")
_ROW_D = ("RET NC", "POP DE", "JP NC,a16", "ILLEGAL_D3", "CALL NC,a16", "PUSH DE",
          "SUB A,n8", "RST $10", "RET C", "RETI", "JP C,a16", "ILLEGAL_DB", "CALL C,a16",
          "ILLEGAL_DD", "SBC A,n8", "RST $18")
_ROW_E = ("LDH [a8],A", "POP HL", "LD [C],A", "ILLEGAL_E3", "ILLEGAL_E4", "PUSH HL",
          "AND A,n8", "RST $20", "ADD SP,e8", "JP HL", "LD [a16],A", "ILLEGAL_EB",
          "ILLEGAL_EC", "ILLEGAL_ED", "XOR A,n8", "RST $28")
_ROW_F = ("LDH A,[a8]", "POP AF", "LD A,[C]", "DI", "ILLEGAL_F4", "PUSH AF", "OR A,n8",
          "RST $30", "LD HL,SP+e8", "LD SP,HL", "LD A,[a16]", "EI", "ILLEGAL_FC",
          "ILLEGAL_FD", "CP A,n8", "RST $38")

# $40-$BF are regular: LD r,r' (HALT where LD [HL],[HL] would be) and ALU A,r.
_OPERANDS = ("B", "C", "D", "E", "H", "L", "[HL]", "A")
_ALU = ("ADD", "ADC", "SUB", "SBC", "AND", "XOR", "OR", "CP")
_LOADS = tuple("HALT" if (dst, src) == ("[HL]", "[HL]") else f"LD {dst},{src}"
               for dst in _OPERANDS for src in _OPERANDS)
_ARITHMETIC = tuple(f"{name} A,{src}" for name in _ALU for src in _OPERANDS)

BASE_MNEMONICS = _ROW_0 + _ROW_1 + _ROW_2 + _ROW_3 + _LOADS + _ARITHMETIC \
    + _ROW_C + _ROW_D + _ROW_E + _ROW_F

_SHIFTS = ("RLC", "RRC", "RL", "RR", "SLA", "SRA", "SWAP", "SRL")
CB_MNEMONICS = tuple(f"{name} {src}" for name in _SHIFTS for src in _OPERANDS) \
    + tuple(f"{name} {bit},{src}" for name in ("BIT", "RES", "SET")
            for bit in range(8) for src in _OPERANDS)

assert len(BASE_MNEMONICS) == 256 and len(CB_MNEMONICS) == 256


def signed(byte: int) -> int:
    """An 8-bit two's complement value as a Python int."""
    return byte - 0x100 if byte & 0x80 else byte


def pack_flags(z: bool, n: bool, h: bool, c: bool) -> int:
    """The F register from four flag truth values (the low nibble is always zero)."""
    return (FLAG_Z if z else 0) | (FLAG_N if n else 0) | (FLAG_H if h else 0) \
        | (FLAG_C if c else 0)


@dataclass
class Machine:
    """CPU registers, IME, the sleep states and 64 KiB of memory."""

    regs: dict[str, int]
    sp: int
    pc: int
    mem: bytearray
    ime: int = 0
    halted: int = 0
    stopped: int = 0
    locked: int = 0
    # Whether the last conditional branch was taken (None for other instructions).
    taken: bool | None = field(default=None, compare=False)

    def copy(self) -> "Machine":
        """An independent copy (memory included)."""
        return Machine(dict(self.regs), self.sp, self.pc, bytearray(self.mem), self.ime,
                       self.halted, self.stopped, self.locked)

    # -- memory and operands ----------------------------------------------

    def fetch(self) -> int:
        """The byte at PC; PC moves on."""
        value = self.mem[self.pc]
        self.pc = (self.pc + 1) & 0xFFFF
        return value

    def fetch16(self) -> int:
        """A little-endian word at PC; PC moves on by two."""
        low = self.fetch()
        return low | (self.fetch() << 8)

    def flag(self, mask: int) -> bool:
        """Whether a flag (FLAG_Z, FLAG_N, FLAG_H or FLAG_C) is set."""
        return bool(self.regs["F"] & mask)

    def pair(self, name: str) -> int:
        """A 16-bit register: BC, DE, HL, AF or SP."""
        if name == "SP":
            return self.sp
        high, low = PAIRS[name]
        return (self.regs[high] << 8) | self.regs[low]

    def set_pair(self, name: str, value: int) -> None:
        """Write a 16-bit register; F keeps only its four flag bits."""
        value &= 0xFFFF
        if name == "SP":
            self.sp = value
            return
        high, low = PAIRS[name]
        self.regs[high] = value >> 8
        self.regs[low] = value & (0xF0 if low == "F" else 0xFF)

    def address_of(self, operand: str) -> int | None:
        """The memory address an 8-bit operand names (fetching what it needs), else None."""
        if operand in MEMORY_BY_PAIR:
            return self.pair(MEMORY_BY_PAIR[operand])
        if operand in ("[HL+]", "[HL-]"):
            address = self.pair("HL")
            self.set_pair("HL", address + (1 if operand == "[HL+]" else -1))
            return address
        if operand == "[C]":
            return 0xFF00 | self.regs["C"]
        if operand == "[a8]":
            return 0xFF00 | self.fetch()
        if operand == "[a16]":
            return self.fetch16()
        return None

    def read8(self, operand: str) -> int:
        """The value of an 8-bit operand (register, n8 or memory)."""
        if operand in REGISTERS_8:
            return self.regs[operand]
        if operand == "n8":
            return self.fetch()
        return self.mem[self.address_of(operand)]

    def write8(self, operand: str, value: int) -> None:
        """Store into an 8-bit operand (register or memory)."""
        if operand in REGISTERS_8:
            self.regs[operand] = value & 0xFF
        else:
            self.mem[self.address_of(operand)] = value & 0xFF

    def push(self, value: int) -> None:
        """Push a word: high byte at SP-1, low byte at SP-2."""
        self.sp = (self.sp - 1) & 0xFFFF
        self.mem[self.sp] = value >> 8
        self.sp = (self.sp - 1) & 0xFFFF
        self.mem[self.sp] = value & 0xFF

    def pop(self) -> int:
        """Pop a word: low byte at SP, high byte at SP+1."""
        low = self.mem[self.sp]
        high = self.mem[(self.sp + 1) & 0xFFFF]
        self.sp = (self.sp + 2) & 0xFFFF
        return (high << 8) | low

    def condition(self, cc: str) -> bool:
        """Evaluate NZ, Z, NC or C."""
        return {"NZ": not self.flag(FLAG_Z), "Z": self.flag(FLAG_Z),
                "NC": not self.flag(FLAG_C), "C": self.flag(FLAG_C)}[cc]

    # -- execution -----------------------------------------------------------

    def step(self) -> None:
        """Execute the instruction at PC."""
        self.taken = None
        code = self.fetch()
        mnemonic = CB_MNEMONICS[self.fetch()] if code == 0xCB else BASE_MNEMONICS[code]
        name, _, rest = mnemonic.partition(" ")
        operands = rest.split(",") if rest else []
        if name.startswith("ILLEGAL"):
            self.locked = 1
            return
        getattr(self, "op_" + name.lower())(*operands)

    # Loads

    def op_ld(self, dst: str, src: str) -> None:
        if dst == "[a16]" and src == "SP":
            address = self.fetch16()
            self.mem[address] = self.sp & 0xFF
            self.mem[(address + 1) & 0xFFFF] = self.sp >> 8
        elif src == "SP+e8":
            self.set_pair("HL", self._sp_plus_offset())
        elif src == "n16":
            self.set_pair(dst, self.fetch16())
        elif dst == "SP":
            self.set_pair("SP", self.pair("HL"))
        else:
            self.write8(dst, self.read8(src))

    op_ldh = op_ld

    def op_push(self, name: str) -> None:
        self.push(self.pair(name))

    def op_pop(self, name: str) -> None:
        self.set_pair(name, self.pop())

    # 8-bit arithmetic and logic

    def _add(self, value: int, carry_in: int, store: bool = True) -> None:
        a = self.regs["A"]
        total = a + value + carry_in
        self.regs["F"] = pack_flags(total & 0xFF == 0, False,
                                    (a & 0xF) + (value & 0xF) + carry_in > 0xF, total > 0xFF)
        if store:
            self.regs["A"] = total & 0xFF

    def _subtract(self, value: int, borrow_in: int, store: bool = True) -> None:
        a = self.regs["A"]
        difference = a - value - borrow_in
        self.regs["F"] = pack_flags(difference & 0xFF == 0, True,
                                    (a & 0xF) < (value & 0xF) + borrow_in, difference < 0)
        if store:
            self.regs["A"] = difference & 0xFF

    def _logic(self, result: int, half: bool) -> None:
        self.regs["A"] = result
        self.regs["F"] = pack_flags(result == 0, False, half, False)

    def op_add(self, dst: str, src: str) -> None:
        if dst == "HL":
            hl, value = self.pair("HL"), self.pair(src)
            self.regs["F"] = pack_flags(self.flag(FLAG_Z), False,
                                        (hl & 0xFFF) + (value & 0xFFF) > 0xFFF,
                                        hl + value > 0xFFFF)
            self.set_pair("HL", hl + value)
        elif dst == "SP":
            self.sp = self._sp_plus_offset()
        else:
            self._add(self.read8(src), 0)

    def op_adc(self, _a: str, src: str) -> None:
        value = self.read8(src)
        self._add(value, int(self.flag(FLAG_C)))

    def op_sub(self, _a: str, src: str) -> None:
        self._subtract(self.read8(src), 0)

    def op_sbc(self, _a: str, src: str) -> None:
        value = self.read8(src)
        self._subtract(value, int(self.flag(FLAG_C)))

    def op_cp(self, _a: str, src: str) -> None:
        self._subtract(self.read8(src), 0, store=False)

    def op_and(self, _a: str, src: str) -> None:
        self._logic(self.regs["A"] & self.read8(src), True)

    def op_xor(self, _a: str, src: str) -> None:
        self._logic(self.regs["A"] ^ self.read8(src), False)

    def op_or(self, _a: str, src: str) -> None:
        self._logic(self.regs["A"] | self.read8(src), False)

    def op_inc(self, target: str) -> None:
        if target in PAIRS or target == "SP":
            self.set_pair(target, self.pair(target) + 1)
            return
        address = self.address_of(target)
        old = self.regs[target] if address is None else self.mem[address]
        new = (old + 1) & 0xFF
        self.regs["F"] = pack_flags(new == 0, False, old & 0xF == 0xF, self.flag(FLAG_C))
        self._store(target, address, new)

    def op_dec(self, target: str) -> None:
        if target in PAIRS or target == "SP":
            self.set_pair(target, self.pair(target) - 1)
            return
        address = self.address_of(target)
        old = self.regs[target] if address is None else self.mem[address]
        new = (old - 1) & 0xFF
        self.regs["F"] = pack_flags(new == 0, True, old & 0xF == 0, self.flag(FLAG_C))
        self._store(target, address, new)

    def _store(self, target: str, address: int | None, value: int) -> None:
        if address is None:
            self.regs[target] = value
        else:
            self.mem[address] = value

    def _sp_plus_offset(self) -> int:
        """SP + e8; H and C come from adding the unsigned offset byte to SP's low byte."""
        offset = self.fetch()
        sp = self.sp
        self.regs["F"] = pack_flags(False, False, (sp & 0xF) + (offset & 0xF) > 0xF,
                                    (sp & 0xFF) + offset > 0xFF)
        return (sp + signed(offset)) & 0xFFFF

    def op_daa(self) -> None:
        a = self.regs["A"]
        carry = self.flag(FLAG_C)
        if self.flag(FLAG_N):
            adjust = (0x60 if carry else 0) + (0x06 if self.flag(FLAG_H) else 0)
            a = (a - adjust) & 0xFF
        else:
            adjust = 0
            if self.flag(FLAG_H) or (a & 0xF) > 9:
                adjust += 0x06
            if carry or a > 0x99:
                adjust += 0x60
                carry = True
            a = (a + adjust) & 0xFF
        self.regs["A"] = a
        self.regs["F"] = pack_flags(a == 0, self.flag(FLAG_N), False, carry)

    def op_cpl(self) -> None:
        self.regs["A"] ^= 0xFF
        self.regs["F"] |= FLAG_N | FLAG_H

    def op_scf(self) -> None:
        self.regs["F"] = pack_flags(self.flag(FLAG_Z), False, False, True)

    def op_ccf(self) -> None:
        self.regs["F"] = pack_flags(self.flag(FLAG_Z), False, False, not self.flag(FLAG_C))

    # Rotates and shifts. Each helper returns (result, carry out).

    def _shifted(self, name: str, value: int) -> tuple[int, bool]:
        carry_in = int(self.flag(FLAG_C))
        if name == "RLC":
            return ((value << 1) | (value >> 7)) & 0xFF, bool(value & 0x80)
        if name == "RRC":
            return ((value >> 1) | (value << 7)) & 0xFF, bool(value & 1)
        if name == "RL":
            return ((value << 1) | carry_in) & 0xFF, bool(value & 0x80)
        if name == "RR":
            return (value >> 1) | (carry_in << 7), bool(value & 1)
        if name == "SLA":
            return (value << 1) & 0xFF, bool(value & 0x80)
        if name == "SRA":
            return (value >> 1) | (value & 0x80), bool(value & 1)
        if name == "SWAP":
            return ((value & 0xF) << 4) | (value >> 4), False
        return value >> 1, bool(value & 1)          # SRL

    def _accumulator_rotate(self, name: str) -> None:
        """RLCA RRCA RLA RRA: like the CB rotates of A, but Z is always cleared."""
        self.regs["A"], carry = self._shifted(name, self.regs["A"])
        self.regs["F"] = pack_flags(False, False, False, carry)

    def op_rlca(self) -> None:
        self._accumulator_rotate("RLC")

    def op_rrca(self) -> None:
        self._accumulator_rotate("RRC")

    def op_rla(self) -> None:
        self._accumulator_rotate("RL")

    def op_rra(self) -> None:
        self._accumulator_rotate("RR")

    def _cb_shift(self, name: str, target: str) -> None:
        address = self.address_of(target)
        value = self.regs[target] if address is None else self.mem[address]
        result, carry = self._shifted(name, value)
        self.regs["F"] = pack_flags(result == 0, False, False, carry)
        self._store(target, address, result)

    def op_rlc(self, target: str) -> None:
        self._cb_shift("RLC", target)

    def op_rrc(self, target: str) -> None:
        self._cb_shift("RRC", target)

    def op_rl(self, target: str) -> None:
        self._cb_shift("RL", target)

    def op_rr(self, target: str) -> None:
        self._cb_shift("RR", target)

    def op_sla(self, target: str) -> None:
        self._cb_shift("SLA", target)

    def op_sra(self, target: str) -> None:
        self._cb_shift("SRA", target)

    def op_swap(self, target: str) -> None:
        self._cb_shift("SWAP", target)

    def op_srl(self, target: str) -> None:
        self._cb_shift("SRL", target)

    def op_bit(self, bit: str, target: str) -> None:
        value = self.read8(target)
        self.regs["F"] = pack_flags(not value >> int(bit) & 1, False, True, self.flag(FLAG_C))

    def op_res(self, bit: str, target: str) -> None:
        address = self.address_of(target)
        value = self.regs[target] if address is None else self.mem[address]
        self._store(target, address, value & ~(1 << int(bit)) & 0xFF)

    def op_set(self, bit: str, target: str) -> None:
        address = self.address_of(target)
        value = self.regs[target] if address is None else self.mem[address]
        self._store(target, address, value | (1 << int(bit)))

    # Control flow

    def _branch_taken(self, condition: str | None) -> bool:
        """Evaluate a branch condition; an unconditional branch (None) is always taken."""
        if condition is None:
            return True
        self.taken = self.condition(condition)
        return self.taken

    def op_jr(self, *operands: str) -> None:
        taken = self._branch_taken(operands[0] if len(operands) == 2 else None)
        offset = signed(self.fetch())
        if taken:
            self.pc = (self.pc + offset) & 0xFFFF

    def op_jp(self, *operands: str) -> None:
        if operands == ("HL",):
            self.pc = self.pair("HL")
            return
        taken = self._branch_taken(operands[0] if len(operands) == 2 else None)
        target = self.fetch16()
        if taken:
            self.pc = target

    def op_call(self, *operands: str) -> None:
        taken = self._branch_taken(operands[0] if len(operands) == 2 else None)
        target = self.fetch16()
        if taken:
            self.push(self.pc)
            self.pc = target

    def op_ret(self, *operands: str) -> None:
        if self._branch_taken(operands[0] if operands else None):
            self.pc = self.pop()

    def op_reti(self) -> None:
        self.pc = self.pop()
        self.ime = 1

    def op_rst(self, vector: str) -> None:
        self.push(self.pc)
        self.pc = int(vector.lstrip("$"), 16)

    # Control

    def op_nop(self) -> None:
        pass

    def op_di(self) -> None:
        self.ime = 0

    def op_ei(self) -> None:
        """IME is set only after the next instruction, so right after EI it is unchanged."""

    def op_halt(self) -> None:
        self.halted = 1

    def op_stop(self) -> None:
        self.fetch()                  # STOP is followed by a byte that is skipped
        self.stopped = 1
