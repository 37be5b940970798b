"""The lazy catch-up schedule against eager mode, one instruction at a time.

The lazy machine brings the timer, the serial port and the PPU up to date only
when one of their registers is touched or when their predicted next event
(``bus.schedule``) falls due; an eager machine (``GameBoy(..., eager=True)``)
brings every unit up to date on every bus access. A prediction that comes late,
or a catch-up that skips an edge, shows as an interrupt requested, woken from or
dispatched at another time, and the two machines part ways.

Two machines run the same ROM in lockstep and are compared after every
instruction (or interrupt dispatch):

- what the CPU sees, which the lazy machine must have current at every
  instruction boundary: registers, IME and its pending enable, the HALT/STOP/
  lock-up state, the clock, IF, IE, the bytes sent on the link port, and the
  memories (HRAM, WRAM, VRAM, OAM, cartridge RAM);
- every SYNC_EVERY instructions, after ``sync()`` on both, everything the units
  hold: all I/O registers, the system counter, TIMA's reload state, the serial
  shift count and the PPU's line, dot, mode and STAT line.

The lazy machine is synced only at those points: syncing it after every
instruction would make it eager and prove nothing.

A HALT ends at no instruction boundary of its own: the lazy machine sleeps from
one predicted event to the next until an interrupt wakes it. The eager machine
then sleeps in the compiled loop up to the clock at which the lazy one woke,
judging for itself whether to wake earlier, and both are compared after the
instruction or dispatch that follows the wake-up. Where a ROM's set-up is long,
a warm-up first runs both machines to a given frame in the compiled loop and
compares them there once.
"""

from __future__ import annotations

import numpy as np
import pytest

import gbemu  # noqa: F401  (sets NUMBA_CACHE_DIR before gbemu.core is imported)
from gbemu import GameBoy
from gbemu.core import hwio
from gbemu.core.cpu import run
from gbemu.core.state import STATE
from gbemu.opcodes import disassemble
from tests.romimages import build_rom

SYNC_EVERY = 2_000          # instructions between whole-machine comparisons
LONGEST_HALT = 4_194_304    # T-cycles (1 s) a HALT may last before the test gives up
FRAME_CYCLES = 70_224

# Compared at every instruction boundary: the CPU and what it can see at once.
CPU_FIELDS = ("r8", "sp", "pc", "ime", "ime_pending", "halted", "halt_bug", "locked",
              "stopped", "clock", "instructions", "ie", "serial_len")
MEMORIES = ("hram", "wram", "vram", "oam")
# Compared after sync(): the units' own state.
UNIT_FIELDS = ("io", "sys_counter", "tima_reload", "serial_bits", "ppu_line", "ppu_dot",
               "ppu_mode", "ppu_mode3_len", "ppu_first_line", "stat_line", "frames",
               "dma_active")

R_IF = hwio.IF - hwio.IO_BASE
REGISTER_NAMES = ("B", "C", "D", "E", "H", "L", "F", "A")

# (ROM, frames run before the lockstep starts, instructions in lockstep.) The
# Mooneye ROMs run through their test into the code that reports the result
# (which waits for VBlank, switches the LCD off and draws). The other two skip
# their set-up: a warm-up runs both machines in the compiled loop and compares
# them once, where it ends.
ROMS = (
    ("mooneye/acceptance/timer/tima_reload.gb", 0, 3_000),          # TIMA overflow, reload
    ("mooneye/acceptance/timer/tma_write_reloading.gb", 0, 2_000),  # TMA written in reload
    ("mooneye/acceptance/timer/tim01_div_trigger.gb", 0, 2_000),    # DIV write ticks TIMA
    ("mooneye/acceptance/halt_ime1_timing.gb", 0, 2_000),           # HALT, dispatch on wake
    ("mooneye/acceptance/halt_ime0_nointr_timing.gb", 0, 4_000),    # HALT, no dispatch
    ("mooneye/acceptance/serial/boot_sclk_align-dmgABCmgb.gb", 0, 3_000),  # serial clock
    ("mooneye/acceptance/oam_dma_timing.gb", 0, 22_000),            # OAM DMA blocks the bus
    ("mooneye/acceptance/ppu/stat_irq_blocking.gb", 0, 15_000),     # STAT line edges
    ("mooneye/acceptance/ppu/intr_2_0_timing.gb", 0, 18_000),       # STAT mode interrupts
    ("mooneye/acceptance/di_timing-GS.gb", 0, 36_000),              # dispatch timing, HALT
    # The timer interrupt test (a dispatch, a HALT), then "Passed" on the link port.
    ("blargg/cpu_instrs/individual/02-interrupts.gb", 22, 30_000),
    # A game: HALT until each line's STAT interrupt, VBlank dispatches; 2-3 frames.
    ("homebrew/libbet/libbet.gb", 12, 25_000),
)


# -- comparing two machines --------------------------------------------------

def byte_span(names) -> tuple[int, int]:
    """The record bytes from the first to the last of these fields."""
    starts = [STATE.fields[name][1] for name in names]
    ends = [STATE.fields[name][1] + STATE.fields[name][0].itemsize for name in names]
    return min(starts), max(ends)


def field_bytes(names) -> np.ndarray:
    """Offsets in the record of every byte of these fields."""
    offsets = [np.arange(STATE.fields[name][1],
                         STATE.fields[name][1] + STATE.fields[name][0].itemsize)
               for name in names]
    return np.concatenate(offsets)


CPU_BYTES = np.concatenate([field_bytes(CPU_FIELDS),
                            [STATE.fields["io"][1] + R_IF]])
MEMORY_SPAN = byte_span(MEMORIES)
ERAM_START = STATE.fields["eram"][1]


def describe(name, lazy, eager) -> str:
    """One differing field of the two records, both values shown."""
    if name == "r8":
        return "; ".join(f"register {REGISTER_NAMES[i]}: lazy ${int(lazy[i]):02X}, "
                         f"eager ${int(eager[i]):02X}"
                         for i in range(8) if lazy[i] != eager[i])
    if name == "io":
        return "; ".join(f"{hwio.IO_NAMES.get(hwio.IO_BASE + i, f'${hwio.IO_BASE + i:04X}')}: "
                         f"lazy ${int(lazy[i]):02X}, eager ${int(eager[i]):02X}"
                         for i in range(len(lazy)) if lazy[i] != eager[i])
    if np.ndim(lazy):
        where = int(np.flatnonzero(np.asarray(lazy) != np.asarray(eager))[0])
        return (f"{name}[${where:04X}]: lazy ${int(lazy[where]):02X}, "
                f"eager ${int(eager[where]):02X}")
    if name in ("pc", "sp"):
        return f"{name}: lazy ${int(lazy):04X}, eager ${int(eager):04X}"
    return f"{name}: lazy {int(lazy)}, eager {int(eager)}"


def differences(lazy: GameBoy, eager: GameBoy, names) -> list[str]:
    a, b = lazy.state[0], eager.state[0]
    return [describe(name, a[name], b[name]) for name in names
            if not np.array_equal(a[name], b[name])]


class EagerStandsStill(AssertionError):
    """The eager machine let no time pass while asleep in HALT."""


class Machine:
    """A GameBoy and live views of the record fields the lockstep reads each step
    (``state[name].item()`` is several times quicker than ``state[0][name]``)."""

    def __init__(self, gb: GameBoy):
        self.gb = gb
        self.raw = gb.state.view(np.uint8)
        for name in ("pc", "clock", "instructions", "halted", "stopped", "locked"):
            setattr(self, name, gb.state[name])

    def asleep(self) -> bool:
        return bool(self.halted.item() or self.stopped.item() or self.locked.item())

    def stuck(self, clock: int) -> str:
        return (f"a step in HALT at PC ${self.pc.item():04X}, clock {clock}, "
                "let no time pass")


class Lockstep:
    """A lazy and an eager machine on one ROM, compared instruction by instruction."""

    def __init__(self, rom: bytes, path: str):
        self.path = path
        self.lazy = Machine(GameBoy(rom, path=path))
        self.eager = Machine(GameBoy(rom, path=path, eager=True))
        ram_size = int(self.lazy.gb.state[0]["ram_size"])
        self.eram_span = (ERAM_START, ERAM_START + ram_size)
        self.instructions = 0       # lockstep steps so far
        self.executed = 0           # instructions since power on, before the last step

    def run(self, instructions: int, sync_every: int = SYNC_EVERY):
        """Step both machines; fail at the first instruction after which they differ."""
        lazy = self.lazy
        pc, clock, halted = lazy.pc.item(), lazy.clock.item(), bool(lazy.halted.item())
        for _ in range(instructions):
            pc, clock, halted = lazy.pc.item(), lazy.clock.item(), bool(lazy.halted.item())
            self.executed = lazy.instructions.item()
            self.instructions += 1
            wake, woke = step_lazy(lazy)
            try:
                step_eager(self.eager, wake, woke)
            except EagerStandsStill as stuck:
                raise EagerStandsStill(self.report(pc, clock, halted, [str(stuck)])) from None
            if not woke:
                sleeping = f"the lazy machine is still in HALT after {LONGEST_HALT} T-cycles"
                if self.cpu_differs():
                    self.fail(pc, clock, halted, [sleeping] + self.cpu_differences())
                pytest.fail(f"{self.path}: {sleeping} (PC ${pc:04X}), and so is the eager "
                            "one: end the lockstep before the ROM sleeps for good",
                            pytrace=False)
            if self.cpu_differs():
                self.fail(pc, clock, halted, self.cpu_differences())
            if self.instructions % sync_every == 0:
                self.compare_units(pc, clock, halted)
            if lazy.locked.item() or lazy.stopped.item():
                break        # nothing runs any more
        self.compare_units(pc, clock, halted)

    def warm_up(self, clock: int):
        """Run both machines to ``clock`` in the compiled loop; compare them there."""
        for machine in (self.lazy, self.eager):
            start = machine.clock.item()
            run(machine.gb.state, clock, step_budget(clock - start))
        found = self.cpu_differences()
        self.lazy.gb.sync()
        self.eager.gb.sync()
        found += differences(self.lazy.gb, self.eager.gb, UNIT_FIELDS)
        if found:
            pytest.fail(f"{self.path}: lazy and eager machines differ after both ran to "
                        f"clock {clock} (compared only there):\n  " + "\n  ".join(found),
                        pytrace=False)

    def cpu_differs(self) -> bool:
        lazy, eager = self.lazy.raw, self.eager.raw
        if lazy[CPU_BYTES].tobytes() != eager[CPU_BYTES].tobytes():
            return True
        for start, end in (MEMORY_SPAN, self.eram_span):
            if lazy[start:end].tobytes() != eager[start:end].tobytes():
                return True
        return False

    def cpu_differences(self) -> list[str]:
        found = differences(self.lazy.gb, self.eager.gb, CPU_FIELDS + MEMORIES)
        a, b = self.lazy.gb.state[0], self.eager.gb.state[0]
        if a["io"][R_IF] != b["io"][R_IF]:
            found.append(f"IF: lazy ${int(a['io'][R_IF]):02X}, eager ${int(b['io'][R_IF]):02X}")
        size = self.eram_span[1] - self.eram_span[0]
        if not np.array_equal(a["eram"][:size], b["eram"][:size]):
            found.append(describe("eram", a["eram"][:size], b["eram"][:size]))
        return found

    def compare_units(self, pc: int, clock: int, halted: bool):
        self.lazy.gb.sync()
        self.eager.gb.sync()
        found = differences(self.lazy.gb, self.eager.gb, UNIT_FIELDS)
        if found:
            self.fail(pc, clock, halted, ["after sync(): " + f for f in found])

    def report(self, pc: int, clock: int, halted: bool, found: list[str]) -> str:
        text, _length = disassemble(self.eager.gb.peek, pc)
        if halted:
            text = f"waking from HALT, then {text}"
        return (f"{self.path}: lazy and eager machines differ after lockstep step "
                f"{self.instructions} ({text} at PC ${pc:04X}, started at clock {clock} "
                f"after {self.executed} instructions since power on; lazy clock now "
                f"{self.lazy.clock.item()}, eager {self.eager.clock.item()}):\n  "
                + "\n  ".join(found))

    def fail(self, pc: int, clock: int, halted: bool, found: list[str]):
        pytest.fail(self.report(pc, clock, halted, found), pytrace=False)


def step_lazy(machine: Machine) -> tuple[int, bool]:
    """Step until an instruction runs or an interrupt is dispatched; a HALT sleeps
    through one step or a few. Returns the clock at which the last step began and
    True, or, when the HALT has lasted LONGEST_HALT, the clock now and False."""
    before = machine.instructions.item()
    asleep_since = machine.clock.item()
    while True:
        clock = machine.clock.item()
        machine.gb.step(1)
        if machine.instructions.item() != before or not machine.asleep():
            return clock, True
        if machine.clock.item() == clock:
            pytest.fail(f"lazy machine: {machine.stuck(clock)}", pytrace=False)
        if machine.clock.item() - asleep_since > LONGEST_HALT:
            return machine.clock.item(), False


def step_budget(cycles: int) -> int:
    """Steps enough to let ``cycles`` T-cycles pass (each step takes an M-cycle or more,
    or sleeps), with a bound: a machine whose clock stands still cannot hang the test."""
    return cycles // 2 + 16


def step_eager(machine: Machine, wake: int, woke: bool):
    """Sleep up to the clock at which the lazy machine woke, in the compiled loop with
    the eager machine's own judgement of when to wake, then take the waking step."""
    clock = machine.clock.item()
    if wake > clock:
        run(machine.gb.state, wake, step_budget(wake - clock))
        if machine.clock.item() == clock:
            raise EagerStandsStill(f"eager machine: {machine.stuck(clock)}")
    if woke:
        machine.gb.step(1)


# -- a synthetic ROM: the timer at every frequency, serial transfers, HALT ----

def set_io(register: int, value: int) -> bytes:
    """LD A,value ; LDH [register],A."""
    return bytes((0x3E, value, 0xE0, register & 0xFF))


def log_io(register: int) -> bytes:
    """LDH A,[register] ; LD [HL+],A: keep the register's value in WRAM."""
    return bytes((0xF0, register & 0xFF, 0x22))


DI, EI, NOP, HALT = b"\xF3", b"\xFB", b"\x00", b"\x76"
CLEAR_IF = b"\xAF" + bytes((0xE0, hwio.IF & 0xFF))     # XOR A ; LDH [IF],A


def halt_and_log(register: int) -> bytes:
    """With IME clear: HALT until an enabled interrupt is requested, no dispatch."""
    return CLEAR_IF + HALT + NOP + log_io(register)


def halt_and_dispatch() -> bytes:
    """EI ; HALT: the interrupt is dispatched on waking, the handler returns here."""
    return CLEAR_IF + EI + HALT + NOP + DI


def busy_wait_for_interrupts(count: int) -> bytes:
    """With IME set, loop touching no register until the handlers have counted to
    ``count`` in D: only the schedule's prediction makes the interrupts arrive."""
    # LD D,0 ; EI ; loop: LD A,D ; CP count ; JR C,loop ; DI
    return CLEAR_IF + bytes((0x16, 0x00, 0xFB, 0x7A, 0xFE, count, 0x38, 0xFB, 0xF3))


def handler(register: int) -> bytes:
    """An interrupt handler (8 bytes at most): log a register, count in D, RETI."""
    # PUSH AF ; LDH A,[register] ; LD [HL+],A ; POP AF ; INC D ; RETI
    return bytes((0xF5, 0xF0, register & 0xFF, 0x22, 0xF1, 0x14, 0xD9))


def timer_phase(tac: int) -> bytes:
    """The timer at one TAC frequency: overflows every 8 ticks, slept through and waited on."""
    code = set_io(hwio.IE_ADDR, hwio.INT_TIMER)
    code += set_io(hwio.TIMA, 0xF0) + set_io(hwio.TMA, 0xF8) + set_io(hwio.TAC, tac)
    code += halt_and_log(hwio.TIMA) * 3
    code += halt_and_dispatch() * 3
    code += busy_wait_for_interrupts(3)
    code += set_io(hwio.DIV, 0)                  # may tick TIMA (a falling edge)
    code += set_io(hwio.TAC, tac ^ 1)            # another frequency while counting
    code += halt_and_log(hwio.TIMA)
    # Overflow at the next tick: at the fastest rates it comes before the HALT,
    # which then takes the HALT bug's path (IF must be current at that instant).
    code += set_io(hwio.TIMA, 0xFF)
    code += halt_and_log(hwio.TIMA)
    code += set_io(hwio.TAC, tac & 3)            # disabling can tick TIMA too
    code += log_io(hwio.TIMA)
    return code


def serial_transfer(data: int, control: int = 0x81) -> bytes:
    return set_io(hwio.SB, data) + set_io(hwio.SC, control)


def serial_phase() -> bytes:
    """Transfers on the internal clock, slept through, dispatched and waited on."""
    code = set_io(hwio.IE_ADDR, hwio.INT_SERIAL)
    code += serial_transfer(0x5A) + halt_and_log(hwio.SB)
    code += serial_transfer(0x3C) + halt_and_dispatch()
    code += serial_transfer(0xC3) + busy_wait_for_interrupts(1)
    # The external clock never comes: the transfer waits until SC is written again.
    code += serial_transfer(0x99, control=0x80) + log_io(hwio.SC)
    code += serial_transfer(0x42) + set_io(hwio.DIV, 0) + halt_and_log(hwio.SB)
    # The timer and the serial port together.
    code += set_io(hwio.IE_ADDR, hwio.INT_SERIAL | hwio.INT_TIMER)
    code += set_io(hwio.TMA, 0xC0) + set_io(hwio.TAC, 0x05)
    code += serial_transfer(0x81) + busy_wait_for_interrupts(12)
    code += serial_transfer(0x18) + halt_and_dispatch() * 4
    code += set_io(hwio.TAC, 0x00)
    return code


def ppu_phase() -> bytes:
    """STAT sources one at a time, VBlank, and the LCD switched off and on."""
    code = set_io(hwio.IE_ADDR, hwio.INT_STAT) + set_io(hwio.LYC, 0x42)
    for source in (0x08, 0x10, 0x20, 0x40):      # mode 0, mode 1, mode 2, LY=LYC
        code += set_io(hwio.STAT, source)
        code += halt_and_log(hwio.LY) * 2 + halt_and_dispatch()
    code += set_io(hwio.STAT, 0x28) + busy_wait_for_interrupts(6)
    code += set_io(hwio.IE_ADDR, hwio.INT_VBLANK) + halt_and_log(hwio.LY)
    code += set_io(hwio.LCDC, 0x11) + log_io(hwio.STAT) + set_io(hwio.LCDC, 0x91)
    code += set_io(hwio.IE_ADDR, hwio.INT_STAT) + set_io(hwio.STAT, 0x20)
    code += halt_and_log(hwio.LY) + set_io(hwio.STAT, 0x00)
    return code


def synthetic_rom() -> bytes:
    program = DI + bytes((0x31, 0x00, 0xE0))     # LD SP,$E000
    program += bytes((0x21, 0x00, 0xC0))         # again: LD HL,$C000 (the log)
    again = 0x0150 + len(program) - 3
    for tac in (0x04, 0x05, 0x06, 0x07):
        program += timer_phase(tac)
    program += serial_phase() + ppu_phase()
    program += bytes((0xC3, again & 0xFF, again >> 8))     # JP again
    image = bytearray(build_rom(program))
    for vector, register in ((0x40, hwio.LY), (0x48, hwio.STAT), (0x50, hwio.DIV),
                             (0x58, hwio.SB)):
        code = handler(register)
        image[vector:vector + len(code)] = code
    return bytes(image)


# -- the tests ----------------------------------------------------------------

@pytest.mark.parametrize("name, warm_up_frames, instructions", [
    pytest.param(*case, id=case[0]) for case in ROMS])
def test_lazy_schedule_matches_eager_on_test_rom(rom_root, name, warm_up_frames,
                                                 instructions):
    path = rom_root / name
    if not path.exists():
        pytest.skip(f"{path} is not in the ROM collection")
    lockstep = Lockstep(path.read_bytes(), name)
    if warm_up_frames:
        lockstep.warm_up(warm_up_frames * FRAME_CYCLES)
    lockstep.run(instructions)


def test_lazy_schedule_matches_eager_on_timer_serial_and_halt():
    Lockstep(synthetic_rom(), "synthetic timer/serial/HALT ROM").run(30_000)
