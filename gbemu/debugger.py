"""``gbemu debug``: a command-line debugger for Game Boy programs.

The debugger drives the same compiled run loop as ``gbemu run``. Breakpoints
and watchpoints are marks in the record's ``debug_map``; the run loop and the
bus test one ``debug`` byte before looking at them, so with nothing set a run
costs what it costs without the debugger. When the core stops on a mark,
Python checks what the core cannot (the ROM bank, a condition, whether a
written byte changed) and resumes when the stop is not wanted.

Going back in time (``backstep``, ``reverse-continue``) restores a snapshot
and replays. A snapshot is the record up to the end of the cartridge RAM in
use (49 KiB plus that RAM; the ROM and buffers a replay never needs lie
after it, see gbemu/core/state.py); one is taken every 16 frames while
running and whenever the buttons change, so the replayed stretch never spans
new input. Emulation is deterministic, so the replay arrives at the same
state, one instruction at a time if need be.

Positions in time: ``instructions`` counts opcodes fetched since power on.
``step N`` runs until it has grown by N; ``backstep N`` returns to the first
moment it was N smaller.
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gbemu import iodecode, opcodes, savestate, vramview
from gbemu.core import hwio
from gbemu.core.cpu import run, NO_STEP_LIMIT, LONGEST_SLEEP
from gbemu.core.state import CALL_RING, REG_F
from gbemu.debugexpr import ExprError, compile_expr, parse_number
from gbemu.images import save_png, to_rgb
from gbemu.machine import FRAME_CYCLES
from gbemu.symbols import SymbolError, SymbolTable

SNAPSHOT_EVERY = 16 * FRAME_CYCLES          # T-cycles between snapshots while running
SNAPSHOT_MEMORY = 64 << 20                  # bytes of snapshots kept (oldest dropped)
CONTEXT_BEFORE = 3                          # instructions listed before PC
LISTING_LENGTH = 10
UNTIL_STEP_LIMIT = 1_000_000                # `until` with no address gives up after this
REG_NAMES = ("B", "C", "D", "E", "H", "L", "F", "A")
PAIRS = {"AF": (7, 6), "BC": (0, 1), "DE": (2, 3), "HL": (4, 5)}
FLAG_BITS = {"Z": 0x80, "N": 0x40, "H": 0x20, "C": 0x10}
FLAG_WORDS = {"Z": "zero", "N": "subtract", "H": "half-carry", "C": "carry"}
OP_LD_B_B = 0x40
CALL_OPCODES = frozenset((0xCD, 0xC4, 0xCC, 0xD4, 0xDC)) | frozenset(range(0xC7, 0x100, 8))
STOP_EVENTS = hwio.EV_BREAKPOINT | hwio.EV_WATCH | hwio.EV_ILLEGAL
WATCH_KINDS = ("write", "read", "change", "access")


class DebugError(Exception):
    """A command that cannot be carried out; the message is printed as-is."""


@dataclass
class Breakpoint:
    """A breakpoint (kind 'exec') or a watchpoint (read/write/change/access)."""

    number: int
    kind: str
    addr: int
    end: int                  # last address covered (= addr for one byte)
    bank: int | None          # ROM/RAM bank the address must be in, or any
    where: str                # the location as the user wrote it
    condition: object = None  # a compiled debugexpr.Expr, or None
    enabled: bool = True
    hits: int = 0

    def core_bits(self) -> int:
        if self.kind == "exec":
            return hwio.BP_EXEC
        if self.kind == "read":
            return hwio.BP_READ
        if self.kind == "access":
            return hwio.BP_READ | hwio.BP_WRITE
        return hwio.BP_WRITE      # write and change

    def fast_path_bits(self) -> int:
        """The DEBUG_WATCH_* bits for a watch: which of the bus's inlined fast paths
        (ROM reads, WRAM/HRAM reads, WRAM/HRAM writes) it must switch off."""
        def covers(first, last):
            return self.addr <= last and first <= self.end

        core = self.core_bits()
        bits = 0
        if core & hwio.BP_READ and covers(*hwio.ROM_REGION):
            bits |= hwio.DEBUG_WATCH_ROM_READ
        if any(covers(*region) for region in hwio.RAM_REGIONS):
            if core & hwio.BP_READ:
                bits |= hwio.DEBUG_WATCH_RAM_READ
            if core & hwio.BP_WRITE:
                bits |= hwio.DEBUG_WATCH_RAM_WRITE
        return bits

    def describe(self) -> str:
        what = "breakpoint" if self.kind == "exec" else f"watchpoint ({self.kind})"
        text = f"{self.number:>3}  {what:<20} {self.where}"
        if self.condition is not None:
            text += f" if {self.condition}"
        if not self.enabled:
            text += "  [disabled]"
        return text + f"  hits {self.hits}"


@dataclass
class Stop:
    """Why a run ended."""

    reason: str = ""          # printed before the location
    hit: Breakpoint | None = None
    stopped: bool = True      # False: the run simply finished its steps


@dataclass
class Command:
    names: tuple
    handler: object
    usage: str
    help: str
    takes_rest: bool = False  # the handler parses the raw argument text itself


@dataclass
class _Snapshot:
    clock: int
    instructions: int
    data: np.ndarray = field(repr=False)


class Context:
    """What expressions read: registers, flags and memory of the machine now."""

    def __init__(self, debugger):
        self.dbg = debugger

    def reg(self, name: str) -> int:
        return self.dbg.reg(name)

    def flag(self, letter: str) -> bool:
        return bool(self.dbg.reg("F") & FLAG_BITS[letter])

    def read(self, addr: int) -> int:
        return self.dbg.gb.peek(addr & 0xFFFF)


class Debugger:
    """A debugging session on one GameBoy; commands come in as text lines."""

    def __init__(self, gb, *, symbols: SymbolTable | None = None, out=None, window=None):
        self.gb = gb
        self.s = gb.state[0]
        self.symbols = symbols if symbols is not None else SymbolTable()
        self.out = out if out is not None else sys.stdout
        self.window = window
        self.breakpoints: dict[int, Breakpoint] = {}
        self._next_number = 1
        self._temporary: list = []       # (addr, predicate) for next/finish/until
        self.snapshots: deque[_Snapshot] = deque()
        self._spare: list[np.ndarray] = []
        self._bytes = gb.state.view(np.uint8)
        self._clock = gb.state["clock"]               # views: cheaper than record fields
        self._instructions = gb.state["instructions"]
        self._snapshot_bytes = savestate.saved_size(gb)   # the record up to the RAM in use
        self._snapshot_limit = max(8, SNAPSHOT_MEMORY // self._snapshot_bytes)
        self._snapshot_clock = 0
        self.trace_file = None
        self.interrupted = False
        self.quit = False
        self.ctx = Context(self)
        self.commands = self._command_table()
        self._lookup = {name: cmd for cmd in self.commands for name in cmd.names}
        gb.audio_enabled = False
        gb.break_on_ld_b_b = False       # the `ldbb` command turns it on
        self.s["call_depth"] = 0
        self._arm()
        self._take_snapshot()

    # -- the machine, as the debugger reads and writes it ------------------------------

    def reg(self, name: str) -> int:
        name = name.upper()
        s = self.s
        if name in PAIRS:
            hi, lo = PAIRS[name]
            return (int(s["r8"][hi]) << 8) | int(s["r8"][lo])
        if name in REG_NAMES:
            return int(s["r8"][REG_NAMES.index(name)])
        if name in ("SP", "PC"):
            return int(s[name.lower()])
        raise DebugError(f"no register {name}")

    def set_reg(self, name: str, value: int):
        name = name.upper()
        s = self.s
        if name in PAIRS:
            hi, lo = PAIRS[name]
            s["r8"][hi] = (value >> 8) & 0xFF
            s["r8"][lo] = value & (0xF0 if lo == REG_F else 0xFF)
        elif name == "F":
            s["r8"][REG_F] = value & 0xF0
        elif name in REG_NAMES:
            s["r8"][REG_NAMES.index(name)] = value & 0xFF
        elif name in ("SP", "PC"):
            s[name.lower()] = value & 0xFFFF
        elif name == "IME":
            s["ime"] = 1 if value else 0
        elif name.endswith("F") and name[:-1] in FLAG_BITS:
            bit = FLAG_BITS[name[:-1]]
            f = int(s["r8"][REG_F])
            s["r8"][REG_F] = (f | bit) if value else (f & ~bit)
        else:
            raise DebugError(f"set: no register or flag {name}")

    def read(self, addr: int) -> int:
        return self.gb.peek(addr & 0xFFFF)

    def read_banked(self, addr: int, bank: int | None) -> int:
        """A byte as the CPU sees it, or from a given ROM bank in $4000-$7FFF."""
        if bank is not None and hwio.ROMX_START <= addr < hwio.VRAM_START:
            index = bank * 0x4000 + addr - hwio.ROMX_START
            return int(self.s["rom"][index % max(int(self.s["rom_size"]), 1)])
        return self.read(addr)

    def write(self, addr: int, value: int):
        """Store a byte as the debugger's user asks: memory directly, no bus side effects."""
        s, value = self.s, value & 0xFF
        if addr < hwio.VRAM_START:
            raise DebugError(f"${addr:04X} is ROM: it cannot be written")
        if addr < hwio.ERAM_START:
            s["vram"][addr - hwio.VRAM_START] = value
        elif addr < hwio.WRAM_START:
            if not s["ram_size"]:
                raise DebugError("this cartridge has no RAM")
            s["eram"][(int(s["eram_offset"]) + (addr & 0x1FFF)) % int(s["ram_size"])] = value
        elif addr < hwio.OAM_START:
            s["wram"][addr & 0x1FFF] = value
        elif addr < hwio.UNUSABLE_START:
            s["oam"][addr - hwio.OAM_START] = value
        elif addr < hwio.IO_BASE:
            raise DebugError(f"${addr:04X} is in the unusable area")
        elif addr < hwio.HRAM_START:
            self.gb.sync()
            s["io"][addr - hwio.IO_BASE] = value
        elif addr < hwio.IE_ADDR:
            s["hram"][addr - hwio.HRAM_START] = value
        else:
            s["ie"] = value

    def bank_of(self, addr: int) -> int:
        """The bank mapped at addr now (what a symbol's bank is compared with)."""
        s = self.s
        if addr < hwio.ROMX_START:
            return int(s["rom0_offset"]) // 0x4000
        if addr < hwio.VRAM_START:
            return (int(s["romx_offset"]) + hwio.ROMX_START) // 0x4000
        if hwio.ERAM_START <= addr < hwio.WRAM_START:
            return int(s["eram_offset"]) // 0x2000
        if 0xD000 <= addr < hwio.ECHO_START:
            return 1
        return 0

    def label(self, addr: int, bank: int | None = None) -> str:
        return self.symbols.describe(addr, self.bank_of(addr) if bank is None else bank)

    def where(self, addr: int) -> str:
        name = self.label(addr)
        return f"${addr:04X} ({name})" if name else f"${addr:04X}"

    # -- parsing addresses and values ---------------------------------------------------

    def _name_value(self, name: str):
        sym = self.symbols.resolve(name)
        if sym is not None:
            return sym.addr
        upper = name.upper()
        for addr, io_name in hwio.IO_NAMES.items():
            if io_name == upper:
                return addr
        return None

    def evaluate(self, text: str) -> int:
        try:
            return int(compile_expr(text, self._name_value).evaluate(self.ctx))
        except ExprError as err:
            raise DebugError(str(err)) from None

    def location(self, text: str) -> tuple[int, int | None]:
        """ADDR, BANK:ADDR, a symbol (with its bank) or an expression -> (addr, bank)."""
        if ":" in text and not text.startswith("["):
            bank_text, _, addr_text = text.partition(":")
            # BANK:ADDR is written as symbol files write it: both in hex.
            bank = parse_number("$" + bank_text) if bank_text else None
            if bank is None:
                raise DebugError(f"not a bank: {bank_text}")
            addr = parse_number("$" + addr_text)
            return (self.evaluate(addr_text) if addr is None else addr) & 0xFFFF, bank
        sym = self.symbols.resolve(text)
        if sym is not None:
            banked = (hwio.ROMX_START <= sym.addr < hwio.VRAM_START
                      or hwio.ERAM_START <= sym.addr < hwio.WRAM_START)
            return sym.addr, (sym.bank if banked and sym.bank else None)
        return self.evaluate(text) & 0xFFFF, None

    def condition(self, text: str):
        try:
            return compile_expr(text, self._name_value)
        except ExprError as err:
            raise DebugError(f"condition: {err}") from None

    # -- breakpoints --------------------------------------------------------------------

    def add_breakpoint(self, kind: str, where: str, end_text: str | None = None,
                       condition: str | None = None) -> Breakpoint:
        addr, bank = self.location(where)
        end = addr
        if end_text is not None:
            end, _ = self.location(end_text)
            if end < addr:
                raise DebugError(f"watch: the range ends before it starts ({where}-{end_text})")
        bp = Breakpoint(self._next_number, kind, addr, end, bank,
                        where if end == addr else f"{where}-{end_text}",
                        self.condition(condition) if condition else None)
        self._next_number += 1
        self.breakpoints[bp.number] = bp
        self._arm()
        return bp

    def _arm(self):
        """Write the enabled marks into the record and say which checks are on."""
        s = self.s
        s["debug_map"][:] = 0
        debug = hwio.DEBUG_CALLS
        for bp in self.breakpoints.values():
            if bp.enabled:
                s["debug_map"][bp.addr:bp.end + 1] |= bp.core_bits()
                if bp.kind == "exec":
                    debug |= hwio.DEBUG_EXEC
                else:
                    debug |= hwio.DEBUG_WATCH | bp.fast_path_bits()
        for addr, _ in self._temporary:
            s["debug_map"][addr] |= hwio.BP_EXEC
            debug |= hwio.DEBUG_EXEC
        s["debug"] = debug

    def _wanted(self, bp: Breakpoint) -> bool:
        if not bp.enabled:
            return False
        if bp.condition is None:
            return True
        try:
            return bool(bp.condition.evaluate(self.ctx))
        except ExprError as err:
            self.say(f"breakpoint {bp.number}: condition failed ({err}); stopping")
            return True

    def _exec_stop(self) -> Stop | None:
        """The core stopped before the instruction at PC: is it a stop we want?"""
        pc = self.reg("PC")
        for addr, predicate in self._temporary:
            if addr == pc and predicate():
                return Stop("")
        for bp in self.breakpoints.values():
            if bp.kind != "exec" or bp.addr != pc:
                continue
            if bp.bank is not None and bp.bank != self.bank_of(pc):
                continue
            if self._wanted(bp):
                bp.hits += 1
                return Stop(f"Breakpoint {bp.number}", bp)
        return None

    def _watch_stop(self) -> Stop | None:
        s = self.s
        addr, value = int(s["watch_addr"]), int(s["watch_value"])
        old, writing = int(s["watch_old"]), int(s["watch_kind"]) == hwio.BP_WRITE
        for bp in self.breakpoints.values():
            if bp.kind == "exec" or not bp.addr <= addr <= bp.end:
                continue
            if bp.kind == "read" and writing or bp.kind in ("write", "change") and not writing:
                continue
            if bp.kind == "change" and old == value:
                continue
            if bp.bank is not None and bp.bank != self.bank_of(addr):
                continue
            if self._wanted(bp):
                bp.hits += 1
                name = hwio.IO_NAMES.get(addr) or self.label(addr)
                shown = f"${addr:04X}" + (f" ({name})" if name else "")
                if writing:
                    text = f"write {shown} = ${value:02X} (was ${old:02X})"
                else:
                    text = f"read {shown} = ${value:02X}"
                return Stop(f"Watchpoint {bp.number}: {text}", bp)
        return None

    # -- running ------------------------------------------------------------------------

    def _take_snapshot(self):
        # Buffers are reused: a fresh array each time would cost its page faults
        # again, more than the copy itself.
        if self._spare:
            data = self._spare.pop()
        elif len(self.snapshots) >= self._snapshot_limit:
            data = self.snapshots.popleft().data
        else:
            data = np.empty(self._snapshot_bytes, np.uint8)
        np.copyto(data, self._bytes[:self._snapshot_bytes])
        self._snapshot_clock = int(self.s["clock"])
        self.snapshots.append(_Snapshot(int(self.s["clock"]), int(self.s["instructions"]),
                                        data))

    def _forget_after(self, clock: int):
        """Drop the snapshots taken after clock (a new past has been chosen)."""
        while self.snapshots and self.snapshots[-1].clock > clock:
            self._spare.append(self.snapshots.pop().data)

    def _restore(self, snap: _Snapshot):
        self._bytes[:self._snapshot_bytes] = snap.data
        self._snapshot_clock = snap.clock

    def _run_traced(self, target: int, max_steps: int) -> int:
        """As run(), one step at a time, logging each instruction before it runs."""
        events = 0
        mask = int(self.s["event_mask"])
        for _ in range(max_steps):
            if int(self.s["clock"]) >= target:
                break
            if not self.s["halted"]:
                self._trace_line()
            events |= int(run(self.gb.state, target, 1))
            if events & mask:
                break
        return events

    def _trace_line(self):
        s = self.s
        pc = int(s["pc"])
        text, length = opcodes.disassemble(self.read, pc)
        raw = " ".join(f"{self.read(pc + i):02X}" for i in range(length))
        regs = " ".join(f"{p}={self.reg(p):04X}" for p in ("AF", "BC", "DE", "HL", "SP"))
        self.trace_file.write(f"{int(s['clock']):>12} {pc:04X} {raw:<8} {text:<18} {regs}\n")

    def advance(self, *, instructions: int | None = None, frames: int | None = None,
                until: int | None = None, checks: bool = True, live: bool = True) -> Stop:
        """Run until `instructions` more have run, `frames` frames have been completed,
        the clock reaches `until`, a breakpoint or watchpoint is wanted, the CPU locks
        up, or Ctrl-C.

        With `checks` off, breakpoints are ignored; a run that is not `live` (a
        replay) neither traces nor shows frames in the window. The loop is kept
        lean: with nothing set it runs once per frame, as ``gbemu run`` does.
        """
        s, state, clock, count = self.s, self.gb.state, self._clock, self._instructions
        goal = None if instructions is None else int(count[0]) + instructions
        frames_left = frames if frames is not None else -1
        stops = STOP_EVENTS if checks else hwio.EV_ILLEGAL
        window = self.window if live else None
        tracing = live and self.trace_file is not None
        chunk = FRAME_CYCLES if window is not None else SNAPSHOT_EVERY
        steps = NO_STEP_LIMIT
        saved_debug = int(s["debug"])
        if not checks:
            s["debug"] = hwio.DEBUG_CALLS
        s["event_mask"] = stops | (hwio.EV_FRAME if frames is not None else 0)
        self.interrupted = False
        try:
            while True:
                if goal is not None:
                    steps = goal - int(count[0])
                    if steps <= 0:
                        return Stop(stopped=False)
                target = int(clock[0]) + chunk
                if until is not None:
                    if target >= until:
                        target = until
                    if int(clock[0]) >= until:
                        return Stop(stopped=False)
                if tracing:
                    events = self._run_traced(target, steps)
                else:
                    events = int(run(state, target, steps))
                if int(clock[0]) - self._snapshot_clock >= SNAPSHOT_EVERY:
                    self._take_snapshot()
                if events & stops:
                    stop = self._stop_for(events, checks)
                    if stop is not None:
                        return stop
                if events & hwio.EV_FRAME:
                    frames_left -= 1
                    if frames_left == 0:
                        return Stop("Frame complete")
                if window is not None and not self._window_frame(events):
                    self.quit = True
                    return Stop("Window closed")
                if self.interrupted:
                    return Stop("Interrupted")
        finally:
            s["debug"] = saved_debug
            s["event_mask"] = hwio.EV_BREAKPOINT | hwio.EV_ILLEGAL

    def _stop_for(self, events: int, checks: bool) -> Stop | None:
        """What a run that ended on a breakpoint, watchpoint or lock-up means."""
        if events & hwio.EV_ILLEGAL:
            return Stop(f"The CPU locked up on unused opcode ${int(self.s['opcode']):02X}")
        if not checks:
            return None
        stop = None
        if events & hwio.EV_WATCH:
            stop = self._watch_stop()
        if stop is None and events & hwio.EV_BREAKPOINT:
            stop = self._exec_stop()
            if stop is None and int(self.s["opcode"]) == OP_LD_B_B and not self._at_mark():
                stop = Stop("LD B,B (software breakpoint)")
        return stop

    def _at_mark(self) -> bool:
        return bool(self.s["debug_map"][int(self.s["pc"])] & hwio.BP_EXEC)

    def _window_frame(self, events) -> bool:
        """While running with a window: show frames at the DMG's pace, read the pad."""
        before = int(self.s["buttons"])
        alive = self.window.pump()
        if int(self.s["buttons"]) != before:
            self._take_snapshot()         # replays never cross a change of input
        if events & hwio.EV_FRAME or events & hwio.EV_TARGET:
            self.window.show(pace=True)
        return alive

    def run_with_temporary(self, marks) -> Stop:
        """Continue with temporary exec marks [(addr, predicate)] (next, finish, until)."""
        self._temporary = list(marks)
        self._arm()
        try:
            return self.advance()
        finally:
            self._temporary = []
            self._arm()

    # -- going back in time ---------------------------------------------------------------

    def goto_instruction(self, goal: int) -> bool:
        """Return to the first moment `instructions` was goal; False if before history."""
        candidates = [snap for snap in self.snapshots if snap.instructions < goal]
        if not candidates:
            return False
        snap = candidates[-1]
        self._restore(snap)
        self._forget_after(snap.clock)
        self.advance(instructions=goal - snap.instructions, checks=False, live=False)
        self._take_snapshot()
        return True

    def _goto_position(self, clock: int, instructions: int, halted: int):
        """Replay to a position met before (clock, instructions, halted)."""
        snap = [sn for sn in self.snapshots if sn.clock < clock or
                (sn.clock == clock and sn.instructions <= instructions)][-1]
        self._restore(snap)
        s = self.s
        saved = int(s["debug"])
        s["debug"] = hwio.DEBUG_CALLS | (saved & hwio.DEBUG_EXEC)
        s["event_mask"] = hwio.EV_ILLEGAL
        try:
            while (int(s["clock"]), int(s["instructions"])) < (clock, instructions):
                run(self.gb.state, clock if int(s["clock"]) < clock else clock + 1,
                    max(1, instructions - int(s["instructions"])))
            if int(s["halted"]) != halted:
                run(self.gb.state, int(s["clock"]) + LONGEST_SLEEP, 1)
        finally:
            s["debug"] = saved
        self._forget_after(snap.clock)
        self._take_snapshot()

    def reverse_continue(self) -> Stop:
        """Back to the latest earlier moment a breakpoint or watchpoint would have stopped."""
        s = self.s
        now = (int(s["clock"]), int(s["instructions"]))
        history = list(self.snapshots)
        end = now
        for snap in reversed(history):
            if (snap.clock, snap.instructions) >= end:
                continue
            self._restore(snap)
            found = None
            while True:
                stop = self._replay_until(end)
                if stop is None:
                    break
                found = (int(s["clock"]), int(s["instructions"]), int(s["halted"]), stop)
            if found is not None:
                self._goto_position(*found[:3])
                return found[3]
            end = (snap.clock, snap.instructions)
        first = history[0]
        self._restore(first)
        self._forget_after(first.clock)
        return Stop("Reached the start of the recorded history")

    def _replay_until(self, end) -> Stop | None:
        """Run with checks until a wanted stop before `end` (returned) or `end` (None)."""
        s = self.s
        hits = {bp.number: bp.hits for bp in self.breakpoints.values()}
        try:
            while (int(s["clock"]), int(s["instructions"])) < end:
                s["event_mask"] = STOP_EVENTS
                events = int(run(self.gb.state, end[0], NO_STEP_LIMIT))
                if (int(s["clock"]), int(s["instructions"])) >= end or events & hwio.EV_ILLEGAL:
                    return None
                stop = self._stop_for(events, checks=True)
                if stop is not None:
                    return stop
            return None
        finally:
            for bp in self.breakpoints.values():
                bp.hits = hits.get(bp.number, bp.hits)

    # -- output ------------------------------------------------------------------------

    def say(self, text: str = ""):
        print(text, file=self.out, flush=True)

    def report(self, stop: Stop):
        if stop.reason:
            self.say(stop.reason)
        self.show_current()

    def show_current(self):
        pc = self.reg("PC")
        text, length = opcodes.disassemble(self.read, pc)
        state = "  (halted)" if self.s["halted"] else ""
        self.say(f"=> {self.where(pc)}: {text}{state}")

    def listing(self, start: int, count: int, mark_pc: bool = True) -> list[str]:
        pc = self.reg("PC")
        lines = []
        addr = start
        for _ in range(count):
            sym = self.symbols.at(addr, self.bank_of(addr))
            if sym:
                lines.append(f"{sym[0].name}:")
            text, length = opcodes.disassemble(self.read, addr)
            raw = " ".join(f"{self.read(addr + i):02X}" for i in range(length))
            marker = "=>" if mark_pc and addr == pc else "  "
            bp = "*" if any(b.kind == "exec" and b.addr == addr and b.enabled
                            for b in self.breakpoints.values()) else " "
            note = self._target_note(text)
            lines.append(f"{marker}{bp}${addr:04X}  {raw:<9} {text}{note}")
            addr = (addr + length) & 0xFFFF
        return lines

    def _target_note(self, text: str) -> str:
        """A label for the address a jump, call or memory operand names, if any
        (a 16-bit immediate may be a number, so it is left alone)."""
        start = text.rfind("$")
        jump = text.split()[0] in ("JP", "JR", "CALL")
        if start < 0 or text[start + 5:start + 6] not in ("]", "") or \
                not (jump or text[start - 1:start] == "["):
            return ""
        addr = int(text[start + 1:start + 5], 16)
        name = hwio.IO_NAMES.get(addr) or self.label(addr)
        return f"  ; {name}" if name else ""

    def start_before(self, addr: int, count: int) -> int:
        """An address about `count` instructions before addr whose decoding lands on it."""
        for back in range(count * 3, 0, -1):
            start = (addr - back) & 0xFFFF
            at, seen = start, 0
            while seen < count + 1 and at != addr and (addr - at) & 0xFFFF <= back:
                at = (at + opcodes.disassemble(self.read, at)[1]) & 0xFFFF
                seen += 1
            if at == addr and seen <= count:
                return start
        return addr

    def register_lines(self) -> list[str]:
        f = self.reg("F")
        flags = " ".join(f"{k}={1 if f & bit else 0}" for k, bit in FLAG_BITS.items())
        spelled = ", ".join(FLAG_WORDS[k] for k, bit in FLAG_BITS.items() if f & bit)
        s = self.s
        return [
            f"PC={self.reg('PC'):04X}  SP={self.reg('SP'):04X}  AF={self.reg('AF'):04X}"
            f"  BC={self.reg('BC'):04X}  DE={self.reg('DE'):04X}  HL={self.reg('HL'):04X}",
            f"A={self.reg('A'):02X} F={f:02X} B={self.reg('B'):02X} C={self.reg('C'):02X}"
            f" D={self.reg('D'):02X} E={self.reg('E'):02X} H={self.reg('H'):02X}"
            f" L={self.reg('L'):02X}",
            f"flags {flags}  ({spelled or 'none set'})",
            f"IME={int(s['ime'])}  halted={'yes' if s['halted'] else 'no'}"
            f"  ROM bank {self.bank_of(hwio.ROMX_START)}  cycle {int(s['clock'])}"
            f"  instruction {int(s['instructions'])}  frame {int(s['frames'])}",
        ]

    # -- the command table -----------------------------------------------------------------

    def _command_table(self) -> list[Command]:
        C = Command
        return [
            C(("help", "h", "?"), self.cmd_help, "help [COMMAND]",
              "list commands, or explain one"),
            C(("step", "s", "si"), self.cmd_step, "step [N]", "run N instructions (default 1)"),
            C(("next", "n"), self.cmd_next, "next [N]",
              "step, but run a CALL or RST through to its return"),
            C(("finish", "fin"), self.cmd_finish, "finish",
              "run until the current function returns"),
            C(("continue", "c", "cont"), self.cmd_continue, "continue",
              "run until a breakpoint, a watchpoint or Ctrl-C"),
            C(("until", "u"), self.cmd_until, "until [ADDR]",
              "run to ADDR; without it, until PC passes the current instruction (loops)"),
            C(("frame", "fr"), self.cmd_frame, "frame [N]", "run until N more frames are done"),
            C(("break", "b", "br"), self.cmd_break, "break ADDR|SYMBOL [if CONDITION]",
              "stop before the instruction at ADDR ([BANK:]ADDR, a symbol, an expression)",
              True),
            C(("watch", "w"), self.cmd_watch,
              "watch ADDR[-END] [read|write|change|access] [if CONDITION]",
              "stop after an instruction reads or writes ADDR (default: write)", True),
            C(("delete", "d"), self.cmd_delete, "delete [N...]",
              "delete breakpoints/watchpoints N (all if none given)"),
            C(("disable",), self.cmd_disable, "disable [N...]", "disable breakpoints"),
            C(("enable",), self.cmd_enable, "enable [N...]", "enable breakpoints"),
            C(("info", "i"), self.cmd_info, "info breakpoints|registers|symbols NAME",
              "list breakpoints and watchpoints"),
            C(("registers", "r", "regs"), self.cmd_registers, "registers",
              "the CPU registers with the flags spelled out"),
            C(("set",), self.cmd_set, "set REG|FLAG|[ADDR] [=] VALUE",
              "change a register (A..L, AF..HL, SP, PC), flag (ZF NF HF CF), IME or a byte",
              True),
            C(("examine", "x"), self.cmd_examine, "x[/NF] ADDR [N] [b|w|i|s]",
              "show N units at ADDR: b hex bytes, w words, i instructions, s text"),
            C(("disassemble", "dis", "l", "list"), self.cmd_disassemble,
              "disassemble [ADDR] [N]", "list instructions around PC, or from ADDR"),
            C(("backtrace", "bt", "where"), self.cmd_backtrace, "backtrace",
              "the calls (and interrupts) made and not yet returned from"),
            C(("io",), self.cmd_io, "io [NAME]", "I/O registers with their bits decoded"),
            C(("ppu",), self.cmd_ppu, "ppu", "the picture processor's state"),
            C(("oam",), self.cmd_oam, "oam [FILE.png]",
              "the 40-entry sprite table, or a picture of the sprites"),
            C(("tiles",), self.cmd_tiles, "tiles FILE.png", "all 384 VRAM tiles as a picture"),
            C(("map",), self.cmd_map, "map FILE.png [9800|9C00]",
              "the 256x256 background map as a picture (default: the one LCDC selects)"),
            C(("trace",), self.cmd_trace, "trace FILE|off",
              "log every instruction run (cycle, PC, bytes, text, registers) to FILE"),
            C(("backstep", "bs"), self.cmd_backstep, "backstep [N]",
              "go back N instructions (default 1)"),
            C(("reverse-continue", "rc"), self.cmd_reverse_continue, "reverse-continue",
              "go back to the last time a breakpoint or watchpoint would have stopped"),
            C(("ldbb",), self.cmd_ldbb, "ldbb [on|off]",
              "stop after LD B,B, the software breakpoint of Mooneye's tests (default off)"),
            C(("symbols", "sym"), self.cmd_symbols, "symbols FILE",
              "load more labels from a .sym file (RGBDS, no$gmb, WLA-DX)"),
            C(("quit", "q", "exit"), self.cmd_quit, "quit", "leave the debugger"),
        ]

    def execute(self, line: str):
        """Carry out one command line; errors are printed, never raised."""
        line = line.strip()
        if not line or line.startswith("#"):
            return
        word, _, rest = line.partition(" ")
        fmt = ""
        if "/" in word:
            word, _, fmt = word.partition("/")
        command = self._lookup.get(word.lower())
        if command is None:
            self.say(f"unknown command: {word} (type 'help')")
            return
        try:
            if command.handler == self.cmd_examine:
                command.handler(fmt, rest.split())
            elif command.takes_rest:
                command.handler(rest.strip())
            else:
                command.handler(rest.split())
        except DebugError as err:
            self.say(f"{command.names[0]}: {err}")
        except (SymbolError, OSError) as err:
            self.say(f"{command.names[0]}: {err}")
        if self.window is not None and not self.quit:
            self.window.show(pace=False)      # the frame as it is now, while stopped

    @staticmethod
    def _count(args, default=1) -> int:
        if not args:
            return default
        value = parse_number(args[0])
        if value is None or value < 1:
            raise DebugError(f"not a positive count: {args[0]}")
        return value

    # -- commands: running -----------------------------------------------------------------

    def cmd_help(self, args):
        if args:
            command = self._lookup.get(args[0].lower())
            if command is None:
                raise DebugError(f"no command {args[0]}")
            aliases = ", ".join(command.names[1:])
            self.say(f"{command.usage}\n  {command.help}"
                     + (f"\n  aliases: {aliases}" if aliases else ""))
            return
        for command in self.commands:
            self.say(f"  {command.usage:<58} {command.help}")

    def cmd_step(self, args):
        count = self._count(args)
        goal = int(self.s["instructions"]) + count
        stop = self.advance(instructions=count)
        if stop.stopped and int(self.s["instructions"]) < goal:
            self.report(stop)
        else:
            self.show_current()

    def cmd_next(self, args):
        for _ in range(self._count(args)):
            stop = self._next_one()
            if stop.stopped:
                self.report(stop)
                return
        self.show_current()

    def _next_one(self) -> Stop:
        pc = self.reg("PC")
        op = self.read(pc)
        if op not in CALL_OPCODES or self.s["halted"]:
            return self.advance(instructions=1)
        length = opcodes.BASE[op].length
        sp = self.reg("SP")
        returned = (pc + length) & 0xFFFF
        stop = self.run_with_temporary([(returned, lambda: self.reg("SP") >= sp)])
        return Stop(stopped=False) if not stop.reason and stop.hit is None else stop

    def cmd_finish(self, args):
        depth = int(self.s["call_depth"])
        if depth == 0:
            raise DebugError("no call is recorded (calls are tracked from when the "
                             "debugger started)")
        slot = (depth - 1) % CALL_RING
        back = int(self.s["call_return"][slot])
        sp = int(self.s["call_sp"][slot])
        stop = self.run_with_temporary([(back, lambda: self.reg("SP") > sp)])
        self.report(stop if stop.reason else Stop(f"Returned to {self.where(back)}"))

    def cmd_continue(self, args):
        self.report(self.advance())

    def cmd_until(self, args):
        if args:
            addr, _bank = self.location(" ".join(args))
            self.report(self.run_with_temporary([(addr, lambda: True)]))
            return
        start = self.reg("PC")
        depth = int(self.s["call_depth"])
        for _ in range(UNTIL_STEP_LIMIT):
            stop = self._next_one()
            if stop.stopped:
                self.report(stop)
                return
            if self.reg("PC") > start or int(self.s["call_depth"]) < depth:
                self.show_current()
                return
        raise DebugError(f"gave up after {UNTIL_STEP_LIMIT} instructions")

    def cmd_frame(self, args):
        self.report(self.advance(frames=self._count(args)))

    def cmd_backstep(self, args):
        count = self._count(args)
        goal = int(self.s["instructions"]) - count
        if goal < 0 or not self.goto_instruction(goal):
            oldest = self.snapshots[0].instructions if self.snapshots else 0
            raise DebugError(f"history starts at instruction {oldest}; cannot go back "
                             f"{count} from {int(self.s['instructions'])}")
        self.show_current()

    def cmd_reverse_continue(self, args):
        self.report(self.reverse_continue())

    # -- commands: breakpoints --------------------------------------------------------------

    @staticmethod
    def _split_condition(text: str) -> tuple[str, str | None]:
        words = text.split(" if ", 1)
        if len(words) == 2:
            return words[0].strip(), words[1].strip()
        return text.strip(), None

    def cmd_break(self, text):
        where, condition = self._split_condition(text)
        if not where:
            raise DebugError("where? (break ADDR|SYMBOL [if CONDITION])")
        bp = self.add_breakpoint("exec", where, condition=condition)
        bank = f" bank {bp.bank}" if bp.bank is not None else ""
        self.say(f"Breakpoint {bp.number} at {self.where(bp.addr)}{bank}")

    def cmd_watch(self, text):
        spec, condition = self._split_condition(text)
        words = spec.split()
        if not words:
            raise DebugError("what? (watch ADDR[-END] [read|write|change|access])")
        kind = "write"
        if len(words) > 1:
            kind = words[-1].lower()
            if kind not in WATCH_KINDS:
                raise DebugError(f"{kind}: expected one of {', '.join(WATCH_KINDS)}")
            words = words[:-1]
        where = " ".join(words)
        end = None
        if "-" in where[1:] and not where.startswith("["):
            where, end = (part.strip() for part in where.split("-", 1))
        bp = self.add_breakpoint(kind, where, end, condition)
        span = f"-${bp.end:04X}" if bp.end != bp.addr else ""
        name = hwio.IO_NAMES.get(bp.addr)
        self.say(f"Watchpoint {bp.number} ({kind}) at ${bp.addr:04X}{span}"
                 + (f" ({name})" if name else ""))

    def _numbers(self, args) -> list[Breakpoint]:
        if not args:
            return list(self.breakpoints.values())
        chosen = []
        for arg in args:
            number = parse_number(arg)
            if number not in self.breakpoints:
                raise DebugError(f"no breakpoint {arg}")
            chosen.append(self.breakpoints[number])
        return chosen

    def cmd_delete(self, args):
        for bp in self._numbers(args):
            del self.breakpoints[bp.number]
        self._arm()

    def cmd_disable(self, args):
        for bp in self._numbers(args):
            bp.enabled = False
        self._arm()

    def cmd_enable(self, args):
        for bp in self._numbers(args):
            bp.enabled = True
        self._arm()

    def cmd_info(self, args):
        topic = args[0].lower() if args else "breakpoints"
        if "breakpoints".startswith(topic) or "watchpoints".startswith(topic):
            if not self.breakpoints:
                self.say("no breakpoints or watchpoints")
            for bp in self.breakpoints.values():
                self.say(bp.describe())
        elif "registers".startswith(topic):
            self.cmd_registers([])
        elif "symbols".startswith(topic):
            names = self.symbols.complete(args[1] if len(args) > 1 else "")
            for name in names:
                sym = self.symbols.resolve(name)
                self.say(f"{sym.bank:02X}:{sym.addr:04X} {name}")
            if not names:
                self.say("no symbols")
        else:
            raise DebugError(f"info what? ({topic}: expected breakpoints, registers, symbols)")

    # -- commands: looking ---------------------------------------------------------------

    def cmd_registers(self, args):
        for line in self.register_lines():
            self.say(line)

    def cmd_set(self, text):
        target, _, value_text = text.replace("=", " ", 1).partition(" ")
        if not target or not value_text.strip():
            raise DebugError("set REG|FLAG|[ADDR] VALUE")
        value = self.evaluate(value_text.strip())
        if target.startswith("["):
            if not target.endswith("]"):
                raise DebugError(f"{target}: expected [ADDR]")
            self.write(self.evaluate(target[1:-1]) & 0xFFFF, value)
        else:
            self.set_reg(target, value)

    def cmd_examine(self, fmt, args):
        if not args:
            raise DebugError("x ADDR [N] [b|w|i|s]")
        count_text = "".join(ch for ch in fmt if ch.isdigit())
        unit = "".join(ch for ch in fmt if ch.isalpha()) or "b"
        rest = list(args[1:])
        if rest and rest[-1].lower() in ("b", "w", "i", "s", "x"):
            unit = rest.pop().lower()
        count = int(count_text) if count_text else self._count(rest, 16 if unit == "b" else 8)
        addr, bank = self.location(args[0])
        if unit == "i":
            for line in self.listing(addr, count, mark_pc=True):
                self.say(line)
            return
        if unit == "s":
            data = bytes(self.read_banked((addr + i) & 0xFFFF, bank) for i in range(count))
            self.say(f"${addr:04X}  " + "".join(chr(b) if 32 <= b < 127 else "." for b in data))
            return
        width = 2 if unit == "w" else 1
        per_line = 8 if width == 2 else 16
        for row in range(0, count, per_line):
            start = (addr + row * width) & 0xFFFF
            cells = []
            for i in range(min(per_line, count - row)):
                at = (start + i * width) & 0xFFFF
                low = self.read_banked(at, bank)
                if width == 2:
                    cells.append(f"{low | (self.read_banked((at + 1) & 0xFFFF, bank) << 8):04X}")
                else:
                    cells.append(f"{low:02X}")
            self.say(f"${start:04X}  " + " ".join(cells))

    def cmd_disassemble(self, args):
        count = self._count(args[1:], LISTING_LENGTH) if len(args) > 1 else LISTING_LENGTH
        if args:
            start, _bank = self.location(args[0])
        else:
            start = self.start_before(self.reg("PC"), CONTEXT_BEFORE)
        for line in self.listing(start, count):
            self.say(line)

    def cmd_backtrace(self, args):
        s = self.s
        depth = int(s["call_depth"])
        self.say(f"#0  {self.where(self.reg('PC'))}")
        shown = min(depth, CALL_RING)
        for level in range(shown):
            slot = (depth - 1 - level) % CALL_RING
            to, back = int(s["call_to"][slot]), int(s["call_return"][slot])
            self.say(f"#{level + 1}  {self.where(to)} called, returns to {self.where(back)}")
        if depth > shown:
            self.say(f"... {depth - shown} older calls not kept")

    def cmd_io(self, args):
        self.gb.sync()
        lines = iodecode.describe_io(self.read)
        if args:
            wanted = args[0].upper()
            lines = [line for line in lines if line.split()[1] == wanted]
            if not lines:
                raise DebugError(f"no I/O register {args[0]}")
        for line in lines:
            self.say(line)

    def cmd_ppu(self, args):
        self.gb.sync()
        for line in iodecode.describe_ppu(self.s):
            self.say(line)

    def _io(self, addr: int) -> int:
        return int(self.s["io"][addr - hwio.IO_BASE])

    def cmd_oam(self, args):
        self.gb.sync()
        s = self.s
        if args:
            picture = vramview.oam_image(s["vram"], s["oam"], self._io(hwio.LCDC),
                                         self._io(hwio.OBP0), self._io(hwio.OBP1))
            self._save_picture(args[0], picture)
            return
        for line in iodecode.describe_oam(s["oam"], self._io(hwio.LCDC)):
            self.say(line)

    def cmd_tiles(self, args):
        if not args:
            raise DebugError("tiles FILE.png")
        self.gb.sync()
        self._save_picture(args[0], vramview.tiles_image(self.s["vram"], self._io(hwio.BGP)))

    def cmd_map(self, args):
        if not args:
            raise DebugError("map FILE.png [9800|9C00]")
        base = None
        if len(args) > 1:
            base = parse_number(args[1]) or parse_number("$" + args[1])
            if base not in (0x9800, 0x9C00):
                raise DebugError(f"{args[1]}: the maps are at $9800 and $9C00")
        self.gb.sync()
        picture = vramview.map_image(self.s["vram"], self._io(hwio.LCDC), self._io(hwio.BGP),
                                     base)
        self._save_picture(args[0], picture)

    def _save_picture(self, path: str, shades):
        save_png(path, to_rgb(shades))
        height, width = np.asarray(shades).shape
        self.say(f"wrote {path} ({width}x{height})")

    def cmd_trace(self, args):
        if not args:
            raise DebugError("trace FILE|off")
        if self.trace_file is not None:
            self.trace_file.close()
            self.trace_file = None
        if args[0].lower() == "off":
            self.say("tracing off")
            return
        self.trace_file = open(args[0], "w", encoding="utf-8")
        self.trace_file.write("# cycle PC bytes instruction AF BC DE HL SP "
                              "(registers before the instruction)\n")
        self.say(f"tracing to {args[0]} (runs go one instruction at a time while tracing)")

    def cmd_ldbb(self, args):
        if args:
            if args[0].lower() not in ("on", "off"):
                raise DebugError(f"{args[0]}: expected on or off")
            self.gb.break_on_ld_b_b = args[0].lower() == "on"
        state = "on" if self.gb.break_on_ld_b_b else "off"
        self.say(f"stopping at LD B,B is {state}")

    def cmd_symbols(self, args):
        if not args:
            raise DebugError("symbols FILE")
        table = SymbolTable.load(args[0])
        for sym in table:
            self.symbols.add(sym)
        self.say(f"loaded {len(table)} symbols from {args[0]}")

    def cmd_quit(self, args):
        self.quit = True

    # -- the session ---------------------------------------------------------------------

    def close(self):
        if self.trace_file is not None:
            self.trace_file.close()
            self.trace_file = None

    def repl(self, stdin=None) -> int:
        """Read and run commands until quit or end of input."""
        stdin = stdin if stdin is not None else sys.stdin
        interactive = stdin.isatty()
        if interactive:
            _enable_readline(self)
        lines = _LineSource(stdin, interactive, self.window)
        previous = signal.signal(signal.SIGINT, self._on_interrupt) \
            if threading.current_thread() is threading.main_thread() else None
        self.show_current()
        last = ""
        try:
            while not self.quit:
                line = lines.next_line()
                if line is None:
                    break
                if interactive and not line.strip():
                    line = last            # Enter again: step, next... once more
                last = line
                self.execute(line)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self.close()
        return 0

    def _on_interrupt(self, _signum, _frame):
        self.interrupted = True


class _LineSource:
    """Command lines from a terminal (with a prompt) or a pipe (without).

    With a window open, lines are read on a thread so the window keeps
    answering (repaints, close button) while the prompt waits.
    """

    PROMPT = "(gbemu) "

    def __init__(self, stdin, interactive: bool, window):
        self.stdin = stdin
        self.interactive = interactive
        self.window = window
        self.lines: queue.Queue = queue.Queue()
        self.wanted = threading.Event()
        if window is not None:
            threading.Thread(target=self._reader, daemon=True).start()

    def _read(self):
        if self.interactive:
            try:
                return input(self.PROMPT)
            except EOFError:
                return None
            except KeyboardInterrupt:
                print()
                return ""
        line = self.stdin.readline()
        return line if line else None

    def _reader(self):
        while True:
            self.wanted.wait()
            self.wanted.clear()
            line = self._read()
            self.lines.put(line)
            if line is None:
                return

    def next_line(self):
        if self.window is None:
            return self._read()
        self.wanted.set()
        while True:
            try:
                return self.lines.get(timeout=0.03)
            except queue.Empty:
                if not self.window.pump(idle=True):
                    return None
            except KeyboardInterrupt:
                continue


class DebugWindow:
    """The game's window while debugging: shows the current frame, and plays
    at the DMG's pace while the program runs."""

    def __init__(self, gb, settings, rom_path):
        from gbemu.frontend import Frontend
        self.frontend = Frontend(gb, settings, rom_path=rom_path, saves=False)
        self.frontend.present()
        self.frontend.pacer.restart()

    def pump(self, idle: bool = False) -> bool:
        import pygame
        frontend = self.frontend
        for event in pygame.event.get():
            frontend.handle_event(event)
        if frontend.controls.quit_requested:
            return False
        if not idle:
            frontend._apply_requests()
        else:
            frontend.pacer.restart()
        return True

    def show(self, pace: bool):
        self.frontend.present()
        if pace:
            self.frontend.pacer.wait()

    def close(self):
        self.frontend.shutdown()


def _enable_readline(debugger):
    """Line editing, history and completion of commands and symbols at the prompt."""
    try:
        import readline
    except ImportError:
        return
    history = Path.home() / ".gbemu_debug_history"
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    import atexit
    atexit.register(lambda: _save_history(readline, history))

    def complete(text, state):
        words = [name for name in debugger._lookup if name.startswith(text)]
        words += debugger.symbols.complete(text)
        return words[state] if state < len(words) else None
    readline.set_completer(complete)
    readline.set_completer_delims(" \t[]+-*/()")
    readline.parse_and_bind("tab: complete")


def _save_history(readline, path):
    try:
        readline.set_history_length(1000)
        readline.write_history_file(path)
    except OSError:
        pass

