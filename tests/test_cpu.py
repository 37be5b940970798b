"""Tests of the SM83 core (gbemu.core.cpu) against an independent reference.

Every base and $CB opcode runs on the flat test bus (64 KiB of plain RAM) from
seeded random and hand-picked starting states; registers, flags, memory, PC, IME
and the sleep states must match tests/cpu_reference.py, and the M-cycles taken
must match gbemu.opcodes. Interrupts and HALT need IE and IF, so those tests run
a real machine (gbemu.GameBoy) on a small ROM built here.

The compiled entry points are called only with the state record and Python ints,
so this module adds no numba specialisations (tests/test_jit.py checks that).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import gbemu  # noqa: F401  (sets NUMBA_CACHE_DIR before gbemu.core is imported)
from gbemu import GameBoy
from gbemu.cartridge import NINTENDO_LOGO, compute_header_checksum
from gbemu.core.cpu import run, run_instructions, NO_STEP_LIMIT
from gbemu.core.hwio import EV_ILLEGAL, EV_TARGET, IF, IO_BASE
from gbemu.core.state import REG_A, REG_F, new_state
from gbemu.opcodes import BASE, CB, CB_PREFIX, ILLEGAL_CODES, Opcode
from tests.cpu_reference import (
    BASE_MNEMONICS, CB_MNEMONICS, FLAG_C, FLAG_N, FLAG_Z, REGISTER_ORDER, Machine,
)

SEED = 0x5EED_0B
T_CYCLES_PER_M_CYCLE = 4
RANDOM_CASES = 32            # per opcode; case i starts with flag nibble i % 16

EDGE_BYTES = (0x00, 0x01, 0x0F, 0x10, 0x7F, 0x80, 0xF0, 0xFE, 0xFF)
EDGE_WORDS = (0x0000, 0x0001, 0x00FF, 0x0100, 0x0FFF, 0x1000, 0x7FFF, 0x8000, 0xFFFE,
              0xFFFF)
BACKGROUND = random.Random(SEED).randbytes(0x10000)   # memory contents before each case

# (A, operand, carry in) for the eight ALU operations: nibble and byte carries and
# borrows, with and without a carry in, and the results that are zero.
ALU_CASES = (
    (0x0F, 0x01, 0), (0xFF, 0x01, 0), (0x00, 0x01, 0), (0x00, 0x00, 1), (0x00, 0x00, 0),
    (0x10, 0x01, 0), (0x0F, 0x00, 1), (0xFF, 0x00, 1), (0x80, 0x80, 0), (0x7F, 0x01, 0),
    (0x01, 0x01, 1), (0x10, 0x0F, 1), (0x3C, 0xFF, 1), (0x00, 0xFF, 1), (0x08, 0x08, 0),
    (0xF0, 0x0F, 1), (0x01, 0x00, 1), (0xFE, 0x01, 1),
)
# (HL, operand) for ADD HL,rr: carries out of bit 11 and bit 15.
ADD_HL_CASES = (
    (0x0FFF, 0x0001), (0xFFFF, 0x0001), (0x8000, 0x8000), (0x00FF, 0x0001),
    (0x0FFF, 0xF001), (0x7FFF, 0x7FFF), (0x0000, 0x0000), (0x1000, 0xF000),
    (0x0F00, 0x0100), (0xF000, 0x1000),
)
# (SP, offset byte) for ADD SP,e8 and LD HL,SP+e8; flags come from the low byte.
SP_OFFSET_CASES = (
    (0x0000, 0xFF), (0x0001, 0xFF), (0xFFFF, 0x01), (0x00F0, 0x80), (0x000F, 0x01),
    (0x00FF, 0x01), (0x1234, 0xF0), (0xFFF8, 0x08), (0x0100, 0x80), (0x00FF, 0xFF),
    (0x8000, 0x7F), (0xD000, 0xFE), (0x0F0F, 0xF1), (0x0080, 0x80),
)
JR_OFFSETS = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
POPPED_LOW_BYTES = (0xFF, 0x0F, 0x00, 0xA5, 0x5A, 0xF0)
STACK_EDGES = (0x0000, 0x0001, 0xFFFF, 0xFFFE)

ALU_NAMES = ("ADD", "ADC", "SUB", "SBC", "AND", "XOR", "OR", "CP")
BYTE_OPERATIONS = ("INC", "DEC", "RLC", "RRC", "RL", "RR", "SLA", "SRA", "SWAP", "SRL",
                   "BIT", "RES", "SET")
JUMPS = ("JR", "JP", "CALL", "RET", "RETI", "RST")
WORD_REGISTERS = ("BC", "DE", "HL", "SP")


def split_mnemonic(mnemonic: str) -> tuple[str, list[str]]:
    """'ADD A,[HL]' -> ('ADD', ['A', '[HL]'])."""
    name, _, rest = mnemonic.partition(" ")
    return name, rest.split(",") if rest else []


# -- the flat bus ----------------------------------------------------------

class FlatBus:
    """A machine record on the flat test bus, loaded from and read back as a Machine."""

    def __init__(self):
        self.state = new_state()
        self.record = self.state[0]
        self.record["flat_bus"] = 1

    @property
    def clock(self) -> int:
        """T-cycles since the record was created."""
        return int(self.record["clock"])

    def load(self, machine: Machine) -> None:
        record = self.record
        record["r8"][:] = [machine.regs[name] for name in REGISTER_ORDER]
        record["sp"] = machine.sp
        record["pc"] = machine.pc
        record["ime"] = machine.ime
        for name in ("ime_pending", "halted", "halt_bug", "locked", "stopped"):
            record[name] = 0
        record["flat"][:] = np.frombuffer(machine.mem, np.uint8)

    def snapshot(self) -> Machine:
        record = self.record
        regs = dict(zip(REGISTER_ORDER, record["r8"].tolist()))
        return Machine(regs, int(record["sp"]), int(record["pc"]), bytearray(record["flat"]),
                       int(record["ime"]), int(record["halted"]), int(record["stopped"]),
                       int(record["locked"]))

    def step(self, count: int = 1) -> tuple[int, int]:
        """Run count instructions; returns (events, T-cycles taken)."""
        start = self.clock
        events = int(run_instructions(self.state, count))
        return events, self.clock - start


@pytest.fixture(scope="module")
def flat_bus() -> FlatBus:
    """One flat-bus record shared by the module (each case loads every field it uses)."""
    return FlatBus()


# -- building cases ----------------------------------------------------------

def random_byte(rng: random.Random) -> int:
    """A byte, often one of the carry and sign edges."""
    return rng.choice(EDGE_BYTES) if rng.random() < 0.4 else rng.randrange(0x100)


def random_word(rng: random.Random) -> int:
    """A 16-bit value, often one of the carry and wrap-around edges."""
    return rng.choice(EDGE_WORDS) if rng.random() < 0.3 else rng.randrange(0x10000)


class Case:
    """A starting state under construction: registers, SP, memory and immediates.

    PC is chosen last, clear of every address the instruction may touch, so the
    code bytes never overwrite an operand placed in memory.
    """

    def __init__(self, rng: random.Random, flag_nibble: int, immediates: int):
        self.rng = rng
        regs = {name: random_byte(rng) for name in REGISTER_ORDER}
        regs["F"] = flag_nibble << 4
        self.machine = Machine(regs, random_word(rng), 0, bytearray(BACKGROUND),
                               ime=rng.randrange(2))
        self.immediates = [random_byte(rng) for _ in range(immediates)]

    def set_carry(self, carry: int) -> None:
        """Set or clear the carry flag, keeping Z, N and H."""
        regs = self.machine.regs
        regs["F"] = (regs["F"] & ~FLAG_C) | (FLAG_C if carry else 0)

    def set_word(self, name: str, value: int) -> None:
        """Set a 16-bit register (BC, DE, HL, SP or AF)."""
        self.machine.set_pair(name, value)

    def place(self, operand: str, value: int) -> None:
        """Make an 8-bit operand read as value (a register, memory, or the immediate)."""
        machine = self.machine
        if operand in ("A", "B", "C", "D", "E", "H", "L"):
            machine.regs[operand] = value
        elif operand in ("n8", "e8"):
            self.immediates[0] = value
        elif operand in ("[HL]", "[HL+]", "[HL-]", "[BC]", "[DE]"):
            machine.mem[machine.pair(operand.strip("[]+-"))] = value
        elif operand == "[C]":
            machine.mem[0xFF00 | machine.regs["C"]] = value
        elif operand == "[a8]":
            machine.mem[0xFF00 | self.immediates[0]] = value
        elif operand == "[a16]":
            machine.mem[self.immediates[0] | (self.immediates[1] << 8)] = value
        else:
            raise ValueError(operand)

    def data_addresses(self) -> set[int]:
        """Addresses the instruction may read or write besides its own code."""
        machine = self.machine
        addresses = {machine.pair(name) for name in ("BC", "DE", "HL")}
        addresses |= {(machine.sp + delta) & 0xFFFF for delta in (-2, -1, 0, 1)}
        addresses.add(0xFF00 | machine.regs["C"])
        if self.immediates:
            addresses.add(0xFF00 | self.immediates[0])
        if len(self.immediates) == 2:
            address = self.immediates[0] | (self.immediates[1] << 8)
            addresses |= {address, (address + 1) & 0xFFFF}
        return addresses

    def finish(self, code: bytes) -> Machine:
        """Choose PC, write the code and immediates there, and return the machine."""
        program = code + bytes(self.immediates)
        busy = self.data_addresses()
        while True:
            pc = random_word(self.rng)
            if not any((pc + offset) & 0xFFFF in busy for offset in range(len(program))):
                break
        machine = self.machine
        machine.pc = pc
        for offset, byte in enumerate(program):
            machine.mem[(pc + offset) & 0xFFFF] = byte
        return machine


def immediate_count(operands: list[str]) -> int:
    """How many bytes of immediate data follow the opcode."""
    if any(op in ("n16", "a16", "[a16]") for op in operands):
        return 2
    if any(op in ("n8", "e8", "[a8]", "SP+e8") for op in operands):
        return 1
    return 0


def directed_setups(mnemonic: str):
    """Hand-picked starting states for the instruction: a list of functions of a Case."""
    name, operands = split_mnemonic(mnemonic)
    setups = []
    if name in ALU_NAMES and operands[0] == "A":
        source = operands[1]

        def alu_setup(a, value, carry):
            def setup(case):
                case.machine.regs["A"] = a
                case.place(source, value)
                case.set_carry(carry)
            return setup
        setups += [alu_setup(*values) for values in ALU_CASES]
    elif name in BYTE_OPERATIONS and operands[-1] not in WORD_REGISTERS:
        target = operands[-1]

        def byte_setup(value, carry):
            def setup(case):
                case.place(target, value)
                case.set_carry(carry)
            return setup
        setups += [byte_setup(value, carry) for value in EDGE_BYTES for carry in (0, 1)]
    elif name in ("INC", "DEC"):
        def word_setup(value):
            return lambda case: case.set_word(operands[0], value)
        setups += [word_setup(value) for value in EDGE_WORDS]
    elif name == "ADD" and operands[0] == "HL":
        def add_hl_setup(hl, value):
            def setup(case):
                case.set_word(operands[1], value)
                case.set_word("HL", hl)
            return setup
        setups += [add_hl_setup(*values) for values in ADD_HL_CASES]
    elif mnemonic in ("ADD SP,e8", "LD HL,SP+e8"):
        def sp_setup(sp, offset):
            def setup(case):
                case.machine.sp = sp
                case.immediates[0] = offset
            return setup
        setups += [sp_setup(*values) for values in SP_OFFSET_CASES]
    elif name == "JR":
        def jr_setup(offset, nibble):
            def setup(case):
                case.immediates[0] = offset
                case.machine.regs["F"] = nibble << 4
            return setup
        setups += [jr_setup(offset, nibble) for offset in JR_OFFSETS for nibble in (0, 0xF)]
    elif name == "POP":
        def pop_setup(low, sp):
            def setup(case):
                case.machine.sp = sp
                case.machine.mem[sp] = low
            return setup
        setups += [pop_setup(low, sp) for low in POPPED_LOW_BYTES for sp in STACK_EDGES]
    elif name in ("PUSH", "CALL", "RST"):
        def stack_setup(sp, nibble):
            def setup(case):
                case.machine.sp = sp
                case.machine.regs["F"] = nibble << 4
            return setup
        setups += [stack_setup(sp, nibble) for sp in STACK_EDGES for nibble in (0, 0xF)]
    elif name == "DAA":
        def daa_setup(a, nibble):
            def setup(case):
                case.machine.regs["A"] = a
                case.machine.regs["F"] = nibble << 4
            return setup
        setups += [daa_setup(a, nibble) for a in range(0x100) for nibble in range(16)]
    return setups


def starting_states(prefix: str, code: int, mnemonic: str, encoding: bytes):
    """Random starting states (every flag nibble twice) and the directed ones."""
    rng = random.Random(f"{SEED}-{prefix}-{code}")
    immediates = immediate_count(split_mnemonic(mnemonic)[1])
    for index in range(RANDOM_CASES):
        yield Case(rng, index % 16, immediates).finish(encoding)
    for setup in directed_setups(mnemonic):
        case = Case(rng, rng.randrange(16), immediates)
        setup(case)
        yield case.finish(encoding)


# -- comparing -----------------------------------------------------------

def describe(machine: Machine) -> str:
    """A one-line register dump for failure messages."""
    regs = " ".join(f"{name}={machine.regs[name]:02X}" for name in REGISTER_ORDER)
    return (f"{regs} SP={machine.sp:04X} PC={machine.pc:04X} IME={machine.ime} "
            f"halted={machine.halted} stopped={machine.stopped} locked={machine.locked}")


def differences(expected: Machine, got: Machine) -> list[str]:
    """What differs between two machines: registers, SP, PC, IME, sleep states, memory."""
    found = [f"{name}: expected {expected.regs[name]:02X}, got {got.regs[name]:02X}"
             for name in REGISTER_ORDER if expected.regs[name] != got.regs[name]]
    for field in ("sp", "pc", "ime", "halted", "stopped", "locked"):
        want, have = getattr(expected, field), getattr(got, field)
        if want != have:
            found.append(f"{field}: expected {want:04X}, got {have:04X}")
    if expected.mem != got.mem:
        changed = np.flatnonzero(np.frombuffer(expected.mem, np.uint8)
                                 != np.frombuffer(got.mem, np.uint8))
        found += [f"[{addr:04X}]: expected {expected.mem[addr]:02X}, got {got.mem[addr]:02X}"
                  for addr in changed[:4]]
    return found


def is_jump(mnemonic: str) -> bool:
    """Whether the instruction may load PC with something other than the next address."""
    return split_mnemonic(mnemonic)[0] in JUMPS


def check_instruction(bus: FlatBus, entry: Opcode, mnemonic: str, start: Machine):
    """Run one instruction from start on the core and on the reference.

    Returns the mismatches and whether the reference took a conditional branch.
    """
    expected = start.copy()
    expected.step()
    bus.load(start)
    events, t_cycles = bus.step()
    got = bus.snapshot()
    problems = differences(expected, got)
    want_cycles = entry.cycles_taken if expected.taken else entry.cycles
    if t_cycles != want_cycles * T_CYCLES_PER_M_CYCLE:
        problems.append(f"T-cycles: expected {want_cycles * T_CYCLES_PER_M_CYCLE}, "
                        f"got {t_cycles}")
    if not is_jump(mnemonic) or expected.taken is False:
        advance = (got.pc - start.pc) & 0xFFFF
        if advance != entry.length:
            problems.append(f"PC advanced by {advance}, the opcode is {entry.length} bytes")
    if bool(events & EV_ILLEGAL) != entry.illegal:
        problems.append(f"events: {events:#x}")
    return [f"{mnemonic} from {describe(start)}: {problem}" for problem in problems], \
        expected.taken


def check_opcode(bus: FlatBus, prefix: str, entry: Opcode, mnemonic: str, encoding: bytes):
    """Check one opcode from all its starting states; fail with the first mismatches."""
    failures = []
    outcomes = set()
    for start in starting_states(prefix, entry.code, mnemonic, encoding):
        problems, taken = check_instruction(bus, entry, mnemonic, start)
        failures += problems
        outcomes.add(taken)
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:8])
    if entry.cycles_taken is not None:
        assert outcomes == {True, False}, "the cases must take and skip the branch"


def base_opcode_id(code: int) -> str:
    """Test id such as 3C-INC A."""
    return f"{code:02X}-{BASE[code].mnemonic}"


def cb_opcode_id(code: int) -> str:
    """Test id such as CB37-SWAP A."""
    return f"CB{code:02X}-{CB[code].mnemonic}"


# -- per-opcode tests ------------------------------------------------------

def test_reference_opcode_map_matches_the_table():
    """The reference's hand-typed opcode map names every opcode as gbemu.opcodes does."""
    assert BASE_MNEMONICS == tuple(op.mnemonic for op in BASE)
    assert CB_MNEMONICS == tuple(op.mnemonic for op in CB)


@pytest.mark.parametrize("code", [
    pytest.param(code, id=base_opcode_id(code))
    for code in range(256) if code != CB_PREFIX
])
def test_base_opcode(flat_bus, code):
    """Result, flags, memory, PC and M-cycles of one unprefixed opcode."""
    check_opcode(flat_bus, "base", BASE[code], BASE_MNEMONICS[code], bytes((code,)))


@pytest.mark.parametrize("code", range(256), ids=cb_opcode_id)
def test_cb_opcode(flat_bus, code):
    """Result, flags, memory, PC and M-cycles of one $CB-prefixed opcode."""
    check_opcode(flat_bus, "cb", CB[code], CB_MNEMONICS[code], bytes((CB_PREFIX, code)))


# -- DAA on BCD arithmetic ---------------------------------------------------

def to_bcd(number: int) -> int:
    """0..99 as two BCD digits."""
    return ((number // 10) << 4) | (number % 10)


@pytest.mark.parametrize("operation, opcode", [
    pytest.param(name, code, id=name)
    for name, code in (("ADD", 0xC6), ("ADC", 0xCE), ("SUB", 0xD6), ("SBC", 0xDE))
])
def test_daa_after_bcd_arithmetic(flat_bus, operation, opcode):
    """`op A,n8; DAA` on every pair of two-digit BCD numbers gives the BCD result and carry.

    ADC and SBC run with the carry set, so every H/C combination DAA can meet occurs.
    """
    base = 0x0100
    flat_bus.load(Machine(dict.fromkeys(REGISTER_ORDER, 0), 0xFFFE, base, bytearray(0x10000)))
    record = flat_bus.record
    registers, memory = record["r8"], record["flat"]
    memory[base], memory[base + 2] = opcode, 0x27
    carry_in = 1 if operation in ("ADC", "SBC") else 0
    subtract = operation in ("SUB", "SBC")
    failures = []
    for x in range(100):
        for y in range(100):
            registers[REG_A] = to_bcd(x)
            registers[REG_F] = FLAG_C if carry_in else 0
            memory[base + 1] = to_bcd(y)
            record["pc"] = base
            flat_bus.step(2)
            exact = x - y - carry_in if subtract else x + y + carry_in
            want_a = to_bcd(exact % 100)
            want_f = ((FLAG_Z if want_a == 0 else 0) | (FLAG_N if subtract else 0)
                      | (FLAG_C if exact < 0 or exact > 99 else 0))
            got_a, got_f = int(registers[REG_A]), int(registers[REG_F])
            if (got_a, got_f) != (want_a, want_f):
                failures.append(f"{x:02d} {operation} {y:02d}: A={got_a:02X} F={got_f:02X}, "
                                f"expected A={want_a:02X} F={want_f:02X}")
    assert not failures, "\n".join(failures[:8])


# -- a real machine, for interrupts and HALT ---------------------------------

PROGRAM_START = 0x0150
STACK_TOP = 0xFFFE
R_IF = IF - IO_BASE
VECTORS = {0x01: 0x40, 0x02: 0x48, 0x04: 0x50, 0x08: 0x58, 0x10: 0x60}
OP_NOP, OP_INC_A, OP_HALT, OP_EI, OP_DI = 0x00, 0x3C, 0x76, 0xFB, 0xF3
OP_RET, OP_RETI = 0xC9, 0xD9


def build_rom(program: bytes) -> bytes:
    """A 32 KiB ROM-only image with a valid header; program is placed at $0150."""
    image = bytearray(0x8000)
    image[0x100:0x104] = bytes((OP_NOP, 0xC3, PROGRAM_START & 0xFF, PROGRAM_START >> 8))
    image[0x104:0x134] = NINTENDO_LOGO
    image[0x134:0x13C] = b"CPU TEST"
    image[PROGRAM_START:PROGRAM_START + len(program)] = program
    image[0x14D] = compute_header_checksum(bytes(image))
    return bytes(image)


class Console:
    """A GameBoy about to run program at $0150, with direct access to its CPU fields."""

    def __init__(self, program: bytes, *, ime: int = 0, enabled: int = 0,
                 requested: int = 0):
        self.gb = GameBoy(build_rom(program))
        self.record = self.gb.state[0]
        self.record["pc"] = PROGRAM_START
        self.record["sp"] = STACK_TOP
        self.record["ime"] = ime
        self.record["ie"] = enabled
        self.requested = requested

    @property
    def requested(self) -> int:
        """IF, the interrupts requested."""
        return int(self.record["io"][R_IF])

    @requested.setter
    def requested(self, bits: int) -> None:
        self.record["io"][R_IF] = bits

    pc = property(lambda self: int(self.record["pc"]))
    sp = property(lambda self: int(self.record["sp"]))
    ime = property(lambda self: int(self.record["ime"]))
    ie = property(lambda self: int(self.record["ie"]))
    halted = property(lambda self: int(self.record["halted"]))
    locked = property(lambda self: int(self.record["locked"]))
    clock = property(lambda self: int(self.record["clock"]))
    instructions = property(lambda self: int(self.record["instructions"]))

    @property
    def a(self) -> int:
        """Register A."""
        return int(self.record["r8"][REG_A])

    def step(self, count: int = 1) -> int:
        """Execute count instructions (a dispatch counts as one); returns the events."""
        return self.gb.step(count)

    def stacked_word(self) -> int:
        """The 16-bit word at SP (a pushed return address)."""
        return self.gb.peek(self.sp) | (self.gb.peek((self.sp + 1) & 0xFFFF) << 8)


@pytest.mark.parametrize("bit", sorted(VECTORS), ids=lambda bit: f"IF{bit:02X}")
def test_interrupt_dispatch(bit):
    """Dispatch: five M-cycles, PC pushed, jump to the vector, IF bit and IME cleared."""
    console = Console(bytes((OP_INC_A,)), ime=1, enabled=0x1F, requested=bit)
    clock, a = console.clock, console.a
    console.step()
    assert console.pc == VECTORS[bit]
    assert console.clock - clock == 5 * T_CYCLES_PER_M_CYCLE
    assert console.sp == STACK_TOP - 2
    assert console.stacked_word() == PROGRAM_START
    assert console.requested == 0
    assert console.ime == 0
    assert console.a == a, "the instruction at PC must not run before the handler"


@pytest.mark.parametrize("enabled, requested, vector, left", [
    (0x1F, 0x1F, 0x40, 0x1E),
    (0x1F, 0x1C, 0x50, 0x18),
    (0x1E, 0x1F, 0x48, 0x1D),
    (0x10, 0x1F, 0x60, 0x0F),
    (0x0C, 0x18, 0x58, 0x10),
    (0x1F, 0x12, 0x48, 0x10),
])
def test_interrupt_priority(enabled, requested, vector, left):
    """The lowest enabled and requested bit wins; only that bit of IF is cleared."""
    console = Console(bytes((OP_NOP,)), ime=1, enabled=enabled, requested=requested)
    console.step()
    assert console.pc == vector
    assert console.requested == left


@pytest.mark.parametrize("ime, enabled, requested", [(0, 0x1F, 0x1F), (1, 0x1E, 0x01),
                                                    (1, 0x00, 0x1F)])
def test_no_dispatch_without_ime_or_enable(ime, enabled, requested):
    """With IME clear, or the requested interrupt not enabled in IE, the program runs on."""
    console = Console(bytes((OP_INC_A,)), ime=ime, enabled=enabled, requested=requested)
    a = console.a
    console.step()
    assert console.pc == PROGRAM_START + 1
    assert console.a == (a + 1) & 0xFF
    assert console.requested == requested


def test_ei_enables_interrupts_after_the_next_instruction():
    """EI; INC A: the pending interrupt is taken after INC A, with its address pushed."""
    console = Console(bytes((OP_EI, OP_INC_A, OP_INC_A)), enabled=0x01, requested=0x01)
    a = console.a
    console.step()
    assert (console.pc, console.ime) == (PROGRAM_START + 1, 0)
    console.step()
    assert console.pc == PROGRAM_START + 2
    assert console.a == (a + 1) & 0xFF
    console.step()
    assert console.pc == VECTORS[0x01]
    assert console.stacked_word() == PROGRAM_START + 2
    assert console.a == (a + 1) & 0xFF


def test_di_right_after_ei_cancels_it():
    """EI; DI: no interrupt is taken between them or after."""
    console = Console(bytes((OP_EI, OP_DI, OP_INC_A)), enabled=0x01, requested=0x01)
    console.step(3)
    assert console.pc == PROGRAM_START + 3
    assert console.ime == 0
    assert console.requested == 0x01


def test_di_blocks_a_later_interrupt():
    """After DI, an interrupt requested later is left pending."""
    console = Console(bytes((OP_DI, OP_INC_A)), ime=1, enabled=0x04)
    console.step()
    console.requested = 0x04
    console.step()
    assert console.pc == PROGRAM_START + 2
    assert console.requested == 0x04


@pytest.mark.parametrize("opcode, enables", [(OP_RETI, True), (OP_RET, False)])
def test_reti_enables_interrupts_at_once(opcode, enables):
    """RETI returns with IME set, so a pending interrupt is taken before the next
    instruction; RET leaves IME clear."""
    return_address = 0x0200
    image_program = bytearray(return_address - PROGRAM_START + 1)
    image_program[0] = opcode
    image_program[return_address - PROGRAM_START] = OP_INC_A
    console = Console(bytes(image_program), enabled=0x01, requested=0x01)
    console.record["sp"] = 0xFFF0
    console.record["hram"][0xFFF0 - 0xFF80] = return_address & 0xFF
    console.record["hram"][0xFFF1 - 0xFF80] = return_address >> 8
    a = console.a
    console.step()
    assert console.pc == return_address
    assert console.ime == int(enables)
    console.step()
    if enables:
        assert console.pc == VECTORS[0x01]
        assert console.stacked_word() == return_address
        assert console.a == a
    else:
        assert console.pc == return_address + 1
        assert console.a == (a + 1) & 0xFF


def test_halt_bug_executes_the_next_byte_twice():
    """HALT with IME clear and an interrupt already pending does not halt; the byte after
    it is read twice, so `76 3C` runs INC A twice."""
    console = Console(bytes((OP_HALT, OP_INC_A, OP_NOP)), enabled=0x04, requested=0x04)
    a = console.a
    console.step(3)
    assert console.a == (a + 2) & 0xFF
    assert console.pc == PROGRAM_START + 2
    assert console.halted == 0


def test_halt_waits_then_wakes_without_dispatch_when_ime_is_clear():
    """HALT with nothing pending sleeps; a request wakes it and the program continues."""
    console = Console(bytes((OP_HALT, OP_INC_A)), enabled=0x04)
    a = console.a
    console.step()
    assert console.halted == 1
    clock = console.clock
    console.step(10)
    assert console.clock > clock, "time passes while halted"
    assert (console.pc, console.a, console.halted) == (PROGRAM_START + 1, a, 1)
    console.requested = 0x04
    console.step()
    assert console.halted == 0
    assert console.pc == PROGRAM_START + 2
    assert console.a == (a + 1) & 0xFF
    assert console.requested == 0x04


def test_halt_with_ime_set_dispatches_and_returns_after_halt():
    """HALT with IME set: a request wakes the CPU into the handler, returning after HALT."""
    console = Console(bytes((OP_HALT, OP_INC_A)), ime=1, enabled=0x04)
    console.step()
    assert console.halted == 1
    console.requested = 0x04
    console.step()
    assert console.pc == VECTORS[0x04]
    assert console.stacked_word() == PROGRAM_START + 1
    assert console.halted == 0


def test_dispatch_cancelled_when_the_push_overwrites_ie():
    """With SP=$0000 the high byte of PC lands in IE ($FFFF); if that disables the
    requested interrupt, the dispatch jumps to $0000 and IF is left alone."""
    console = Console(bytes((OP_NOP,)), ime=1, enabled=0x02, requested=0x02)
    console.record["sp"] = 0x0000
    console.step()
    assert console.ie == PROGRAM_START >> 8
    assert console.pc == 0x0000
    assert console.requested == 0x02
    assert console.sp == 0xFFFE


@pytest.mark.parametrize("code", sorted(ILLEGAL_CODES), ids=lambda code: f"{code:02X}")
def test_illegal_opcode_locks_the_cpu(code):
    """An unused opcode hangs the CPU for good: run() reports EV_ILLEGAL and no
    instruction or interrupt runs afterwards, whatever IME, IE and IF say."""
    console = Console(bytes((code, OP_INC_A)))
    a = console.a
    events = int(run(console.gb.state, console.clock + 1000, NO_STEP_LIMIT))
    assert events & EV_ILLEGAL
    assert console.locked == 1
    assert console.pc == PROGRAM_START + 1
    instructions = console.instructions
    console.record["ime"] = 1
    console.record["ie"] = 0x1F
    console.requested = 0x1F
    target = console.clock + 150_000                  # more than two frames
    events = int(run(console.gb.state, target, NO_STEP_LIMIT))
    assert events & EV_TARGET and not events & EV_ILLEGAL
    assert console.clock >= target
    console.step(20)
    assert (console.pc, console.sp, console.a) == (PROGRAM_START + 1, STACK_TOP, a)
    assert console.instructions == instructions
    assert console.requested == 0x1F
    assert console.locked == 1
