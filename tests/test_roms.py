"""Test ROM verdicts: the runner's protocols, and every tracked ROM against its expectation.

The first tests build tiny ROMs that report a result the way each suite does
(Mooneye registers at LD B,B, Blargg serial text, the $A000 block, screen
text) and check the runner's verdict; they need no ROM collection.

The rest run every ROM listed in tests/expectations.toml and require the
verdict recorded there, in both directions: a ROM that starts passing fails
too, so the file stays a true record. Those cases run in a module-wide pool
of worker processes and skip when the ROM collection is absent.
"""

from __future__ import annotations

import multiprocessing
import tomllib
from pathlib import Path
from typing import NamedTuple

import pytest

from gbemu import CACHE_DIR, _cache
from gbemu.testrunner import VERDICTS, compile_core, run_test_rom
from tests import romimages
from tests.romroot import require_rom_root

EXPECTATIONS_FILE = Path(__file__).with_name("expectations.toml")
DEFAULT_SUITE_TIMEOUT = 30.0
POOL_WORKERS = 2
# Wall-clock bound on waiting for one pooled result, so a lost worker fails instead of hanging.
POOL_WAIT_SECONDS = 1800


# -- the protocols, on synthetic ROMs ----------------------------------------------

def run_image(tmp_path, image: bytes, timeout: float = 5.0):
    path = tmp_path / "synthetic.gb"
    path.write_bytes(image)
    return run_test_rom(path, timeout=timeout)


def test_mooneye_pass_registers_at_breakpoint_pass(tmp_path):
    image = romimages.build_rom(romimages.mooneye_result(romimages.MOONEYE_PASS)
                                + romimages.LOOP_FOREVER)
    result = run_image(tmp_path, image, timeout=30)
    assert (result.verdict, result.suite) == ("pass", "mooneye")
    assert result.emulated_seconds < 0.5, "the run must stop once the verdict is known"


def test_mooneye_failure_registers_fail(tmp_path):
    image = romimages.build_rom(romimages.mooneye_result(romimages.MOONEYE_FAIL)
                                + romimages.LOOP_FOREVER)
    result = run_image(tmp_path, image)
    assert (result.verdict, result.suite) == ("fail", "mooneye")


def test_breakpoint_with_other_registers_is_not_a_verdict(tmp_path):
    program = (romimages.mooneye_result((1, 2, 3, 4, 5, 6))
               + romimages.mooneye_result(romimages.MOONEYE_PASS)
               + romimages.LOOP_FOREVER)
    result = run_image(tmp_path, romimages.build_rom(program))
    assert result.verdict == "pass"


@pytest.mark.parametrize("text, verdict", [
    ("01-demo\n\n\nPassed\n", "pass"),
    ("01-demo\n\nE8 bad\nFailed #2\n", "fail"),
])
def test_blargg_serial_text(tmp_path, text, verdict):
    image = romimages.build_rom(romimages.serial_print(text) + romimages.LOOP_FOREVER)
    result = run_image(tmp_path, image)
    assert (result.verdict, result.suite) == (verdict, "blargg-serial")
    assert text.split()[-1] in result.detail
    assert "\n" not in result.detail


@pytest.mark.parametrize("code, text, verdict", [
    (0, "demo\n\nPassed\n", "pass"),
    (3, "demo\n\nFailed #3\n", "fail"),
])
def test_blargg_cartridge_ram_report(tmp_path, code, text, verdict):
    image = romimages.build_rom(romimages.blargg_ram_report(code, text)
                                + romimages.LOOP_FOREVER,
                                cart_type=romimages.CART_MBC1_RAM,
                                ram_size_code=romimages.RAM_SIZE_8K)
    result = run_image(tmp_path, image)
    assert (result.verdict, result.suite) == (verdict, "blargg-a000")
    assert text.split()[-1] in result.detail
    if code:
        assert str(code) in result.detail


def test_blargg_ram_still_running_is_not_a_verdict(tmp_path):
    image = romimages.build_rom(romimages.blargg_ram_report(0x80, "Passed")
                                + romimages.LOOP_FOREVER,
                                cart_type=romimages.CART_MBC1_RAM,
                                ram_size_code=romimages.RAM_SIZE_8K)
    assert run_image(tmp_path, image, timeout=0.3).verdict == "timeout"


@pytest.mark.parametrize("high_map", [False, True])
@pytest.mark.parametrize("word, verdict", [("Passed", "pass"), ("Failed", "fail")])
def test_blargg_screen_text(tmp_path, word, verdict, high_map):
    image = romimages.build_rom(romimages.screen_print(word, high_map=high_map)
                                + romimages.LOOP_FOREVER)
    result = run_image(tmp_path, image)
    assert (result.verdict, result.suite) == (verdict, "blargg-screen")


def test_screen_text_in_the_map_not_shown_is_ignored(tmp_path):
    # The text goes to $9C00 while LCDC selects $9800 for the background.
    program = (romimages.screen_print("Passed", high_map=True)
               + bytes((0x3E, 0x00, 0xE0, 0x40))          # LD A,0 ; LDH (LCDC),A
               + romimages.LOOP_FOREVER)
    result = run_image(tmp_path, romimages.build_rom(program), timeout=0.3)
    assert result.verdict == "timeout"


def test_silent_rom_times_out_after_the_emulated_timeout(tmp_path):
    result = run_image(tmp_path, romimages.build_rom(romimages.LOOP_FOREVER), timeout=0.5)
    assert result.verdict == "timeout"
    assert 0.5 <= result.emulated_seconds < 0.7
    assert "PC=$0150: JR $0150" in result.detail, "the report disassembles where it hung"


def test_cpu_lockup_fails(tmp_path):
    image = romimages.build_rom(romimages.ILLEGAL_OPCODE)
    result = run_image(tmp_path, image, timeout=30)
    assert result.verdict == "fail"
    assert "locked up on unused opcode $D3 at $0150" in result.detail
    assert result.emulated_seconds < 1


def test_unloadable_rom_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "empty.gb"
    path.write_bytes(b"")
    result = run_test_rom(path)
    assert result.verdict == "error"
    assert str(path) in result.detail and "\n" not in result.detail


# -- the tracked ROMs --------------------------------------------------------------

class Case(NamedTuple):
    suite: str
    path: str          # relative to the ROM root
    expected: str
    timeout: float


def load_expectations(path: Path = EXPECTATIONS_FILE) -> list[Case]:
    with open(path, "rb") as file:
        data = tomllib.load(file)
    cases = []
    for suite, table in data.items():
        timeout = float(table.get("timeout", DEFAULT_SUITE_TIMEOUT))
        for rom, expected in table.items():
            if rom != "timeout":
                cases.append(Case(suite, rom, expected, timeout))
    return cases


CASES = load_expectations()


def test_expectations_file_is_well_formed():
    assert CASES, "tests/expectations.toml lists no ROM"
    for case in CASES:
        assert case.expected in VERDICTS, f"{case.path}: unknown verdict {case.expected!r}"
        assert case.path.endswith((".gb", ".gbc")), f"{case.suite}: odd key {case.path!r}"
    paths = [case.path for case in CASES]
    assert len(paths) == len(set(paths)), "a ROM is listed twice"


def _run_case(job):
    path, timeout = job
    return run_test_rom(path, timeout=timeout)


class VerdictPool:
    """Runs the selected cases in worker processes, started all at once, collected lazily."""

    def __init__(self, root: Path, cases: list[Case]):
        self.root = root
        self.pool = None
        self.pending = {}
        if len(cases) < 2:
            return
        if _cache.is_cold(CACHE_DIR):
            compile_core()  # once here, so the workers load it from the cache
        context = multiprocessing.get_context("spawn")
        self.pool = context.Pool(min(POOL_WORKERS, len(cases)))
        for case in cases:
            self.pending[case] = self.pool.apply_async(_run_case, (self._job(case),))

    def _job(self, case: Case):
        return str(self.root / case.path), case.timeout

    def verdict(self, case: Case):
        if case in self.pending:
            return self.pending.pop(case).get(POOL_WAIT_SECONDS)
        return _run_case(self._job(case))

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


@pytest.fixture(scope="module")
def verdict_pool(request):
    root = require_rom_root()
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_rom_verdict"]
    pool = VerdictPool(root, selected)
    yield pool
    pool.close()


@pytest.mark.parametrize("case", CASES, ids=[case.path for case in CASES])
def test_rom_verdict(verdict_pool, case: Case):
    result = verdict_pool.verdict(case)
    if result.verdict == case.expected:
        return
    if result.verdict == "pass":
        change = "now passes"
    elif case.expected == "pass":
        change = "regressed"
    else:
        change = "changed"
    pytest.fail(
        f"{case.path} {change}: expected {case.expected!r}, got {result.verdict!r} "
        f"after {result.emulated_seconds:.1f} s emulated ({result.detail}). "
        f"If this is intended, update tests/expectations.toml.",
        pytrace=False,
    )
