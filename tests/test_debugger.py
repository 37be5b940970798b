"""The debugger (gbemu/debugger.py) driven by command lines, as a user's script drives it.

Programs are written in our assembler's syntax and assembled here, so each test
names its own addresses by label; the Mooneye session loads the ROM's own .sym.
"""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import time

import pytest

from gbemu import asm, opcodes
from gbemu.core import hwio
from gbemu.debugger import Debugger
from gbemu.images import load_png
from gbemu.machine import GameBoy
from gbemu.symbols import Symbol, SymbolTable
from tests.romroot import REPO_ROOT

PC_LINE = re.compile(r"PC=([0-9A-F]{4})")


class Session:
    """A Debugger with its output captured; ``run(line)`` returns what the command printed."""

    def __init__(self, gb, symbols=None):
        self.out = io.StringIO()
        self.dbg = Debugger(gb, symbols=symbols, out=self.out)

    def run(self, *lines) -> str:
        start = self.out.tell()
        for line in lines:
            self.dbg.execute(line)
        self.out.seek(start)
        text = self.out.read()
        self.out.seek(0, io.SEEK_END)
        return text

    def registers(self) -> dict:
        return {name: self.dbg.reg(name) for name in ("AF", "BC", "DE", "HL", "SP", "PC")}

    @property
    def pc(self) -> int:
        return self.dbg.reg("PC")


def program(source: str, header: str = "") -> tuple[GameBoy, SymbolTable]:
    """Assemble source (entry at $0150) into a GameBoy and its labels."""
    text = (header + 'SECTION "entry", ROM0[$100]\n nop\n jp start\n'
            'SECTION "main", ROM0[$150]\n' + source)
    built = asm.Assembler(asm.hardware_symbols()).assemble(text, "test.asm")
    labels = SymbolTable(Symbol(name, 0, value) for name, value in built.symbols.items()
                         if name.islower() and 0x150 <= value < 0x8000)
    return GameBoy(built.image), labels


COUNTER = """
start:
    xor a
loop:
    inc a
    ld [$C000], a
    call helper
    jr loop
helper:
    ld b, a
    ret
"""


def test_mooneye_session_break_step_next_watch_backstep(rom_root):
    rom = rom_root / "mooneye" / "acceptance" / "timer" / "tim00.gb"
    symbols = SymbolTable.beside(rom)
    quit_label = symbols.resolve("quit")
    assert quit_label is not None, "the ROM's .sym names its quit routine"
    session = Session(GameBoy.from_file(rom), symbols)

    out = session.run("break quit", "continue")
    assert "Breakpoint 1" in out and "(quit)" in out
    assert session.pc == quit_label.addr

    # Step up to the first CALL, then step over it.
    seen = []
    while opcodes.BASE[session.dbg.read(session.pc)].mnemonic.split()[0] != "CALL":
        seen.append(session.registers())
        session.run("step")
        assert len(seen) < 20, "quit calls a routine within its first instructions"
    call_at, sp = session.pc, session.dbg.reg("SP")
    before = int(session.dbg.s["instructions"])
    session.run("next")
    assert session.pc == call_at + 3 and session.dbg.reg("SP") == sp
    assert int(session.dbg.s["instructions"]) > before + 1, "the called routine ran"

    # Watch the LCD being switched off (quit does it before printing).
    out = session.run("watch LCDC write", "continue")
    assert re.search(r"Watchpoint 2: write \$FF40 \(LCDC\) = \$[0-7][0-9A-F]", out), out
    assert session.dbg.read(hwio.LCDC) & 0x80 == 0

    out = session.run("registers")
    assert PC_LINE.search(out)
    assert re.search(r"flags Z=[01] N=[01] H=[01] C=[01]", out)

    # Three single steps, then back three: the registers are those of three steps ago.
    history = []
    for _ in range(3):
        history.append(session.registers())
        session.run("step")
    after = session.registers()
    out = session.run("backstep 3", "registers")
    assert session.registers() == history[0]
    assert PC_LINE.search(out).group(1) == f"{history[0]['PC']:04X}"
    session.run("step 3")
    assert session.registers() == after, "replaying forward arrives at the same state"


def test_cli_scripted_session_without_a_terminal(rom_root, tmp_path):
    rom = rom_root / "mooneye" / "acceptance" / "timer" / "tim00.gb"
    script = "break main\ncontinue\nstep 2\nregisters\nbackstep 2\nregisters\nquit\n"
    done = subprocess.run([sys.executable, "-m", "gbemu", "debug", str(rom), "--headless"],
                          input=script, capture_output=True, text=True, timeout=600,
                          cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert "(gbemu)" not in done.stdout, "no prompt when standard input is not a terminal"
    pcs = PC_LINE.findall(done.stdout)
    main = SymbolTable.beside(rom).resolve("main").addr
    assert pcs[1] == f"{main:04X}", "backstep 2 returns to the breakpoint at main"
    assert pcs[0] != pcs[1]


def test_breakpoint_condition_and_hit_count():
    gb, labels = program(COUNTER)
    session = Session(gb, labels)
    session.run("break helper if A == 3")
    out = session.run("continue")
    assert session.pc == labels.resolve("helper").addr and session.dbg.reg("A") == 3
    assert "hits 1" in session.run("info breakpoints"), out
    session.run("delete 1", "break helper")
    session.run("continue")
    assert session.dbg.reg("A") == 4


def test_finish_and_backtrace():
    gb, labels = program(COUNTER)
    session = Session(gb, labels)
    session.run("break helper", "continue")
    out = session.run("backtrace")
    assert "#1" in out and "helper" in out and "loop" in out, out
    session.run("finish")
    pc, read = session.pc, session.dbg.read
    assert read(pc - 3) == 0xCD, "back just after the CALL"
    assert read(pc - 2) | read(pc - 1) << 8 == labels.resolve("helper").addr
    assert "#1" not in session.run("backtrace")


def test_watch_kinds_change_read_and_ranges():
    gb, labels = program("""
start:
    ld a, 5
    ld [$C001], a
    ld [$C001], a
    ld a, [$C001]
    ld a, 6
    ld [$C001], a
spin:
    jr spin
""")
    session = Session(gb, labels)
    session.run("watch $C000-$C003 change")
    assert "= $05 (was $00)" in session.run("continue")
    out = session.run("continue")
    assert "= $06 (was $05)" in out, "writing the same byte again is not a change"
    session = Session(GameBoy(gb.rom), labels)
    session.run("watch $C001 read")
    out = session.run("continue")
    assert "read $C001 = $05" in out


EVERY_REGION = """
start:
    ld a, [data]        ; ROM
after_rom:
    ld a, $11
    ld [$8000], a       ; VRAM
after_vram:
    ld a, [$C000]       ; WRAM
after_wram:
    ld a, $22
    ld [$E001], a       ; echo of WRAM
after_echo:
    ld [$FE00], a       ; OAM
after_oam:
    ldh a, [LY]         ; I/O
after_io:
    ld a, $33
    ldh [$FF80], a      ; HRAM
after_hram:
    ld a, $04
    ld [IE_ADDR], a     ; IE
after_ie:
spin:
    jr spin
data:
    db $5A
"""


ROM_READ = hwio.DEBUG_WATCH_ROM_READ
RAM_READ = hwio.DEBUG_WATCH_RAM_READ
RAM_WRITE = hwio.DEBUG_WATCH_RAM_WRITE


@pytest.mark.parametrize("watch, stop_label, text, fast", [
    ("data read", "after_rom", "read $%04X (data) = $5A", ROM_READ),
    ("$8000 write", "after_vram", "write $8000 = $11", 0),
    ("$C000 read", "after_wram", "read $C000 = $", RAM_READ),
    ("$E001 write", "after_echo", "write $E001 = $22", 0),
    ("$FE00 write", "after_oam", "write $FE00 = $22", 0),
    ("LY read", "after_io", "read $FF44 (LY) = $", 0),
    ("$FF80 write", "after_hram", "write $FF80 = $33", RAM_WRITE),
    ("$FF80 access", "after_hram", "write $FF80 = $33", RAM_READ | RAM_WRITE),
    ("$7FFF-$C000 access", "after_vram", "write $8000 = $11", ROM_READ | RAM_READ | RAM_WRITE),
    ("IE write", "after_ie", "write $FFFF (IE) = $04", 0),
])
def test_watchpoints_stop_on_every_kind_of_memory(watch, stop_label, text, fast):
    """A watch on what the bus's inlined fast paths serve (reads of ROM, reads and
    writes of WRAM and HRAM; they do not look at watchpoints) turns just those paths
    off; one anywhere else leaves them on, and the slow path that serves those
    addresses checks it."""
    gb, labels = program(EVERY_REGION)
    session = Session(gb, labels)
    session.run(f"watch {watch}")
    assert session.dbg.s["debug"] & (ROM_READ | RAM_READ | RAM_WRITE) == fast
    out = session.run("step 40")         # a missed watch ends in the spin loop
    if "%" in text:
        text = text % labels.resolve("data").addr
    assert text in out
    assert session.pc == labels.resolve(stop_label).addr


def test_breakpoint_right_after_halt_is_seen_when_the_cpu_wakes():
    gb, labels = program("""
start:
    ld a, $05
    ldh [TAC], a        ; timer on: TIMA overflows within a millisecond
    ld a, $04
    ld [IE_ADDR], a
    xor a
    ldh [IF], a
    halt                ; IME is off: wakes without a dispatch
woke:
    nop
    jr woke
""")
    session = Session(gb, labels)
    session.run("break woke", "continue")
    assert session.pc == labels.resolve("woke").addr
    assert not session.dbg.s["halted"]
    assert session.dbg.read(hwio.IF) & hwio.INT_TIMER


def test_reverse_continue_returns_to_the_previous_stop():
    gb, labels = program(COUNTER)
    session = Session(gb, labels)
    session.run("watch $C000")
    for value in (1, 2, 3):
        session.run("continue")
        assert session.dbg.read(0xC000) == value
    out = session.run("reverse-continue")
    assert "Watchpoint 1" in out
    assert session.dbg.read(0xC000) == 2, "back at the write of 2"
    session.run("continue")
    assert session.dbg.read(0xC000) == 3


def test_backstep_beyond_the_recorded_history_is_refused():
    gb, _ = program(COUNTER)
    session = Session(gb)
    out = session.run("step 2", "backstep 5")
    assert "backstep: history starts" in out
    assert int(session.dbg.s["instructions"]) == 2


def test_set_examine_and_disassemble():
    gb, labels = program(COUNTER)
    session = Session(gb, labels)
    session.run("set a=$12", "set [$C010] $34", "set zf 0", "set cf 1")
    regs = session.run("registers")
    assert "A=12" in regs and "Z=0" in regs and "C=1" in regs
    assert "$C010  34" in session.run("x $C010 1")
    listing = session.run("disassemble loop 4")
    expected = ["loop:", "INC A", "LD [$C000],A", "CALL", "JR"]
    positions = [listing.find(text) for text in expected]
    assert -1 not in positions and positions == sorted(positions), listing
    assert "; helper" in listing, "call targets are named by their labels"
    assert "unknown command" in session.run("frobnicate")
    assert "break:" in session.run("break no_such_label")


def test_io_ppu_oam_and_pictures(tmp_path):
    gb, _ = program(COUNTER)
    session = Session(gb)
    session.run("frame 2")
    out = session.run("io")
    assert re.search(r"\$FF40 LCDC\s+\$91\s+LCD on", out), out
    assert "TAC" in session.run("io TAC")
    assert "mode" in session.run("ppu")
    assert len(session.run("oam").splitlines()) >= 40
    for command, name, shape in (("tiles", "t.png", (192, 128)), ("map", "m.png", (256, 256)),
                                 ("oam", "o.png", None)):
        path = tmp_path / name
        session.run(f"{command} {path}")
        picture = load_png(path)
        if shape is not None:
            assert picture.shape[:2] == shape


def test_trace_writes_one_line_per_instruction(tmp_path):
    gb, labels = program(COUNTER)
    session = Session(gb, labels)
    path = tmp_path / "trace.txt"
    session.run(f"trace {path}", "step 7", "trace off", "step 3")
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 7, "tracing stopped with 'trace off'"
    assert [line.split()[1] for line in lines[:3]] == ["0100", "0101", "0150"]
    assert "NOP" in lines[0] and "XOR A,A" in lines[2]
    assert "CALL" in lines[5] and lines[6].split()[1] == f"{labels.resolve('helper').addr:04X}"
    cycles = [int(line.split()[0]) for line in lines]
    assert cycles == sorted(cycles) and len(set(cycles)) == 7


def test_no_breakpoints_means_no_checks_in_the_core():
    gb, _ = program(COUNTER)
    session = Session(gb)
    assert session.dbg.s["debug"] == hwio.DEBUG_CALLS
    session.run("watch $C000", "break $0150")
    assert session.dbg.s["debug"] & hwio.DEBUG_EXEC and session.dbg.s["debug"] & hwio.DEBUG_WATCH
    session.run("disable 1", "delete 2")
    assert session.dbg.s["debug"] == hwio.DEBUG_CALLS
    assert not session.dbg.s["debug_map"].any()


@pytest.mark.parametrize("problem", ["missing rom", "bad symbols"])
def test_cli_bad_input_is_one_line_and_status_2(tmp_path, problem):
    rom = tmp_path / "game.gb"
    if problem == "bad symbols":
        rom.write_bytes(program(COUNTER)[0].rom)
        (tmp_path / "game.sym").write_text("00:0150 start\nthis is not a label\n")
    done = subprocess.run([sys.executable, "-m", "gbemu", "debug", str(rom), "--headless"],
                          input="quit\n", capture_output=True, text=True, timeout=600,
                          cwd=REPO_ROOT)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(tmp_path / ("game.sym:2" if problem == "bad symbols" else "game.gb")) in lines[0]


def test_ld_b_b_stops_only_when_asked():
    source = "start:\n    ld b, b\nspin:\n    jr spin\n"
    gb, labels = program(source)
    session = Session(gb, labels)
    assert "Frame complete" in session.run("frame 2"), "off by default: runs through"
    session = Session(program(source)[0], labels)
    out = session.run("ldbb on", "continue")
    assert "LD B,B" in out and session.pc == labels.resolve("spin").addr


def test_ctrl_c_stops_a_run_and_returns_to_the_prompt(tmp_path):
    rom = tmp_path / "game.gb"
    rom.write_bytes(program(COUNTER)[0].rom)
    process = subprocess.Popen([sys.executable, "-m", "gbemu", "debug", str(rom), "--headless"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        process.stdin.write("continue\n")
        process.stdin.flush()
        assert process.stdout.readline().startswith("=> $0100"), "the session started"
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate("registers\nquit\n", timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Interrupted" in out and PC_LINE.search(out), out


def test_bank_qualified_addresses_read_and_break_in_that_bank():
    gb, labels = program("""
start:
    ld a, 2
    ld [$2000], a           ; map ROM bank 2 at $4000
    call banked
spin:
    jr spin
SECTION "one", ROMX[$4000], BANK[1]
    db $11, $22, $33, $44
SECTION "two", ROMX[$4000], BANK[2]
banked:
    ld a, $AB
    ret
""", header="CARTTYPE $01\n")
    session = Session(gb, labels)
    assert "$4000  3E AB C9" in session.run("x 02:4000 3"), "bank 2, while bank 1 is mapped"
    assert "$4000  11 22 33 44" in session.run("x $4000 4")
    session.run("break 01:4000", "break 02:4000")
    out = session.run("continue")
    assert "Breakpoint 2" in out and session.dbg.bank_of(0x4000) == 2
