"""Run one test ROM headless and decide whether it passed.

The common Game Boy test suites report their result in one of four ways, and
`run_test_rom` watches for all of them, so the protocol is chosen by what the
ROM does rather than by its name:

- Mooneye: the ROM executes ``LD B,B`` with B,C,D,E,H,L = 3,5,8,13,21,34 on
  success or all six = $42 on failure. ``LD B,B`` elsewhere with other values
  is ignored and the run goes on.
- Blargg serial: the text sent on the link port contains "Passed" or "Failed".
- Blargg $A000: cartridge RAM $A001-$A003 holds the signature DE B0 61 and
  $A000 a result code other than $80 (running); 0 means passed, and a
  zero-terminated message starts at $A004.
- Blargg screen text: the background tile map read as ASCII (the font puts
  each glyph at its character code) shows "Passed" or "Failed". Checked last.
- Reference screen: a ROM that ships a picture of its correct final screen
  (dmg-acid2's ``img/reference-dmg.png``, or ``NAME-dmg.png`` beside
  ``NAME.gb`` as Mooneye's manual-only tests do) runs to its ``LD B,B`` (or
  the timeout) and passes when the frame equals the picture pixel for pixel.
  On failure the actual, expected and difference images are written to the
  artifacts folder when one is given.

The ROM runs in slices of about 0.1 emulated second and the protocols are
checked after each slice, so a run stops soon after its verdict is known or
when the emulated timeout passes. Nothing here prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from gbemu.cartridge import NINTENDO_LOGO, RomError, compute_header_checksum
from gbemu.core import hwio
from gbemu.machine import CLOCK_HZ, GameBoy
from gbemu.opcodes import disassemble

VERDICTS = ("pass", "fail", "timeout", "error")
DEFAULT_TIMEOUT = 30.0
SLICE_SECONDS = 0.1

MOONEYE_PASS = (3, 5, 8, 13, 21, 34)
MOONEYE_FAIL = (0x42,) * 6
MOONEYE_REGISTERS = ("B", "C", "D", "E", "H", "L")

BLARGG_RAM_SIGNATURE = bytes((0xDE, 0xB0, 0x61))
BLARGG_RAM_RUNNING = 0x80
BLARGG_RAM_TEXT_OFFSET = 4

TILE_MAP_LOW = 0x1800        # VRAM offset of the map at $9800
TILE_MAP_HIGH = 0x1C00       # VRAM offset of the map at $9C00
LCDC_BG_MAP_HIGH = 0x08
MAP_TILES = 32
VISIBLE_COLUMNS = 20
VISIBLE_ROWS = 18

DETAIL_LINES = 3
DETAIL_MAX_CHARS = 200

PROTOCOL_MOONEYE = "mooneye"
PROTOCOL_SERIAL = "blargg-serial"
PROTOCOL_RAM = "blargg-a000"
PROTOCOL_SCREEN = "blargg-screen"
PROTOCOL_REFERENCE = "reference-screen"
PROTOCOL_UNKNOWN = "unknown"

# Where a ROM's picture of its correct final screen is looked for, relative to
# the ROM ({stem} is the file name without .gb): the layouts the suites use.
REFERENCE_IMAGE_PATTERNS = ("{stem}-dmg.png", "img/reference-dmg.png")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one test ROM run.

    ``suite`` names the protocol that gave the verdict (``mooneye``,
    ``blargg-serial``, ``blargg-a000``, ``blargg-screen``); for a timeout it is
    the protocol whose traces the ROM left, or ``unknown``.
    """

    path: str
    suite: str
    verdict: str
    detail: str
    emulated_seconds: float
    wall_seconds: float

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def run_test_rom(path, *, timeout: float = DEFAULT_TIMEOUT, boot_rom_path=None,
                 slice_seconds: float = SLICE_SECONDS, reference=None,
                 artifacts_dir=None) -> Verdict:
    """Run the ROM at ``path`` until it reports a result or ``timeout`` emulated seconds pass.

    ``reference`` is a PNG of the expected final screen; by default it is
    looked for beside the ROM (see REFERENCE_IMAGE_PATTERNS).
    """
    started = time.perf_counter()
    path = str(path)
    try:
        gb = GameBoy.from_file(path, boot_rom_path=boot_rom_path)
    except RomError as err:
        return Verdict(path, PROTOCOL_UNKNOWN, "error", str(err), 0.0,
                       time.perf_counter() - started)
    reference = Path(reference) if reference else find_reference_image(path)
    if reference is not None:
        suite, verdict, detail, seconds = run_reference_screen(
            gb, reference, timeout, artifacts_dir, Path(path).stem)
        return Verdict(path, suite, verdict, detail, seconds, time.perf_counter() - started)
    watcher = _Watcher(gb, timeout, slice_seconds)
    suite, verdict, detail = watcher.run()
    return Verdict(path, suite, verdict, detail, watcher.verdict_seconds,
                   time.perf_counter() - started)


def find_reference_image(rom_path) -> Path | None:
    """The picture of the ROM's correct final screen shipped beside it, if any."""
    rom_path = Path(rom_path)
    for pattern in REFERENCE_IMAGE_PATTERNS:
        candidate = rom_path.parent / pattern.format(stem=rom_path.stem)
        if candidate.is_file():
            return candidate
    return None


def run_reference_screen(gb: GameBoy, reference: Path, timeout: float, artifacts_dir,
                         name: str):
    """Run to LD B,B (or the timeout) and compare the frame with ``reference``."""
    from gbemu import images

    start = gb.clock
    gb.break_on_ld_b_b = True
    deadline = start + int(timeout * CLOCK_HZ)
    while gb.clock < deadline:
        events = gb.run_until(deadline)
        if events & (hwio.EV_BREAKPOINT | hwio.EV_ILLEGAL):
            break
    seconds = (gb.clock - start) / CLOCK_HZ
    actual = images.to_rgb(gb.screen)
    try:
        expected = images.load_png(reference)
    except Exception as err:   # pygame raises its own error type for unreadable files
        return PROTOCOL_REFERENCE, "error", f"{reference}: cannot read image ({err})", seconds
    if expected.shape != actual.shape:
        return (PROTOCOL_REFERENCE, "error",
                f"{reference}: image is {expected.shape[1]}x{expected.shape[0]}, not 160x144",
                seconds)
    wrong = int((actual != expected).any(axis=2).sum())
    if wrong == 0:
        return PROTOCOL_REFERENCE, "pass", f"matches {reference.name}", seconds
    detail = f"{wrong} pixels differ from {reference.name}"
    if artifacts_dir is not None:
        folder = Path(artifacts_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, picture in (("actual", actual), ("expected", expected),
                                ("diff", images.difference(actual, expected))):
            images.save_png(folder / f"{name}-{suffix}.png", picture)
        detail += f"; images in {folder}"
    return PROTOCOL_REFERENCE, "fail", detail, seconds


class _Watcher:
    """Runs a GameBoy slice by slice and checks every protocol between slices."""

    def __init__(self, gb: GameBoy, timeout: float, slice_seconds: float):
        self.gb = gb
        self.start_clock = gb.clock
        self.deadline = self.start_clock + int(timeout * CLOCK_HZ)
        self.slice_cycles = max(4, int(slice_seconds * CLOCK_HZ))
        self.verdict_seconds = 0.0
        gb.break_on_ld_b_b = True

    def elapsed(self) -> float:
        return (self.gb.clock - self.start_clock) / CLOCK_HZ

    def run(self) -> tuple[str, str, str]:
        while self.gb.clock < self.deadline:
            target = min(self.gb.clock + self.slice_cycles, self.deadline)
            result = self._run_slice(target)
            if result is None:
                result = self._check_blargg()
            if result is not None:
                return result
            if self.gb.locked:
                self.verdict_seconds = self.elapsed()
                opcode = self.gb.last_opcode
                address = (self.gb.registers["PC"] - 1) & 0xFFFF
                return (self._traces(), "fail",
                        f"the CPU locked up on unused opcode ${opcode:02X} at ${address:04X}")
        self.verdict_seconds = self.elapsed()
        return self._traces(), "timeout", self._timeout_detail()

    def _run_slice(self, target: int):
        """Run up to ``target``; a Mooneye verdict at a breakpoint ends the slice early."""
        while self.gb.clock < target:
            events = self.gb.run_until(target)
            if events & hwio.EV_BREAKPOINT:
                found = mooneye_verdict(self.gb.registers)
                if found is not None:
                    self.verdict_seconds = self.elapsed()
                    verdict, detail = found
                    shown = last_lines(screen_text(self.gb), 2)
                    if verdict == "fail" and shown:
                        detail = f"{detail}; screen: {shown}"
                    return PROTOCOL_MOONEYE, verdict, detail
            if events & hwio.EV_ILLEGAL:
                return None
        return None

    def _check_blargg(self):
        for protocol, check in ((PROTOCOL_SERIAL, serial_verdict),
                                (PROTOCOL_RAM, cart_ram_verdict),
                                (PROTOCOL_SCREEN, screen_verdict)):
            found = check(self.gb)
            if found is None:
                continue
            self.verdict_seconds = self.elapsed()
            # The text may still be printing: give it one more slice to finish
            # the line, then take the detail from the same protocol.
            self._run_slice(self.gb.clock + self.slice_cycles)
            settled = check(self.gb)
            verdict, detail = found[0], (settled or found)[1]
            return protocol, verdict, detail
        return None

    def _traces(self) -> str:
        """The protocol a ROM that gave no verdict seems to use."""
        if self.gb.serial_output.strip():
            return PROTOCOL_SERIAL
        if bytes(self.gb.cart_ram[1:4]) == BLARGG_RAM_SIGNATURE:
            return PROTOCOL_RAM
        return PROTOCOL_UNKNOWN

    def _timeout_detail(self) -> str:
        pc = self.gb.registers["PC"]
        text, _length = disassemble(self.gb.peek, pc)
        detail = f"no result after {self.elapsed():.1f} s emulated (PC=${pc:04X}: {text})"
        text = last_lines(self.gb.serial_output.decode("latin-1"), 1)
        if text:
            detail += f"; serial: {text}"
        return detail


def mooneye_verdict(registers: dict):
    """('pass'|'fail', detail) when the registers hold a Mooneye result, else None."""
    values = tuple(registers[name] for name in MOONEYE_REGISTERS)
    if values == MOONEYE_PASS:
        return "pass", ""
    if values == MOONEYE_FAIL:
        return "fail", "$42 in B,C,D,E,H,L"
    return None


def serial_verdict(gb: GameBoy):
    """('pass'|'fail', last lines) when the link-port text says Passed or Failed."""
    return _text_verdict(gb.serial_output.decode("latin-1"))


def cart_ram_verdict(gb: GameBoy):
    """('pass'|'fail', detail) when cartridge RAM holds a finished Blargg result."""
    ram = gb.cart_ram
    if len(ram) < BLARGG_RAM_TEXT_OFFSET or bytes(ram[1:4]) != BLARGG_RAM_SIGNATURE:
        return None
    code = int(ram[0])
    if code == BLARGG_RAM_RUNNING:
        return None
    text = bytes(ram[BLARGG_RAM_TEXT_OFFSET:]).split(b"\0", 1)[0].decode("latin-1")
    if code == 0:
        return "pass", last_lines(text)
    return "fail", _clip(f"result code {code}: {last_lines(text)}")


def screen_text(gb: GameBoy) -> str:
    """The visible background tile map read as ASCII, one line per tile row."""
    s = gb.state[0]
    vram = s["vram"]
    io = s["io"]
    lcdc = int(io[hwio.LCDC - hwio.IO_BASE])
    base = TILE_MAP_HIGH if lcdc & LCDC_BG_MAP_HIGH else TILE_MAP_LOW
    tile_map = vram[base: base + MAP_TILES * MAP_TILES].reshape(MAP_TILES, MAP_TILES)
    top = int(io[hwio.SCY - hwio.IO_BASE]) // 8
    left = int(io[hwio.SCX - hwio.IO_BASE]) // 8
    lines = []
    for row in range(VISIBLE_ROWS):
        tiles = tile_map[(top + row) % MAP_TILES]
        chars = (int(tiles[(left + col) % MAP_TILES]) for col in range(VISIBLE_COLUMNS))
        lines.append("".join(chr(c) if 0x20 <= c < 0x7F else " " for c in chars).rstrip())
    return "\n".join(lines)


def screen_verdict(gb: GameBoy):
    """('pass'|'fail', last lines) when the screen's tile map shows Passed or Failed."""
    return _text_verdict(screen_text(gb))


def _text_verdict(text: str):
    passed = text.rfind("Passed")
    failed = text.rfind("Failed")
    if passed < 0 and failed < 0:
        return None
    return ("pass" if passed > failed else "fail"), last_lines(text)


def last_lines(text: str, count: int = DETAIL_LINES) -> str:
    """The last ``count`` non-blank lines of ``text`` joined into one line."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    return _clip(" | ".join(lines[-count:]))


def _clip(text: str) -> str:
    if len(text) <= DETAIL_MAX_CHARS:
        return text
    return "..." + text[-(DETAIL_MAX_CHARS - 3):]


def find_roms(paths) -> list[Path]:
    """The ROM files named by ``paths``: files as given, directories searched for *.gb/*.gbc."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and p.suffix.lower() in (".gb", ".gbc")))
        else:
            found.append(path)
    return found


def compile_core() -> None:
    """Compile the emulator core now (a no-op when the cache is warm).

    Worker processes that share the numba cache then load the compiled code
    instead of each compiling it.
    """
    image = bytearray(0x8000)
    image[0x100:0x104] = b"\x00\xC3\x00\x01"     # NOP; JP $0100
    image[0x104:0x134] = NINTENDO_LOGO
    image[0x14D] = compute_header_checksum(bytes(image))
    gb = GameBoy(bytes(image))
    gb.break_on_ld_b_b = True
    gb.run_cycles(SLICE_SECONDS * CLOCK_HZ)
    gb.sync()
