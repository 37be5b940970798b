"""Tests of the gbemu command line: bad input, `gbemu test` reports, `gbemu run` output.

Every ROM image here is built in tmp_path (tests/romimages.py); none comes from
the ROM collection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from gbemu import cli
from tests import romimages
from tests.romroot import REPO_ROOT

PASSING = romimages.build_rom(romimages.mooneye_result(romimages.MOONEYE_PASS)
                              + romimages.LOOP_FOREVER)
FAILING = romimages.build_rom(romimages.mooneye_result(romimages.MOONEYE_FAIL)
                              + romimages.LOOP_FOREVER)
SILENT = romimages.build_rom(romimages.LOOP_FOREVER)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def not_a_rom(tmp_path):
    return write(tmp_path, "notes.gb", b"just some text, not a cartridge\n" * 1024)


def unknown_type(tmp_path):
    image = bytearray(romimages.build_rom())
    image[0x147] = 0x42                      # no cartridge has type $42
    return write(tmp_path, "unknown-type.gb", bytes(image))


def truncated(tmp_path):
    return write(tmp_path, "truncated.gb", romimages.build_rom()[:0x4000])


def short_header(tmp_path):
    return write(tmp_path, "short.gb", romimages.build_rom()[:0x120])


BAD_INPUTS = {
    "missing file": lambda tmp_path: tmp_path / "missing.gb",
    "directory": lambda tmp_path: tmp_path,
    "empty file": lambda tmp_path: write(tmp_path, "empty.gb", b""),
    "truncated file": truncated,
    "cut inside the header": short_header,
    "not a Game Boy ROM": not_a_rom,
    "unknown cartridge type": unknown_type,
}


def assert_one_line_naming(stderr: str, path):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("gbemu: ") and str(path) in lines[0], stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("make", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_rom_gives_one_line_and_status_2(tmp_path, capsys, make):
    path = make(tmp_path)
    status = cli.main(["run", str(path), "--headless", "--frames", "1"])
    captured = capsys.readouterr()
    assert status == 2
    assert_one_line_naming(captured.err, path)


def test_bad_rom_without_subcommand_in_a_subprocess(tmp_path):
    path = not_a_rom(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-m", "gbemu", str(path)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 2
    assert_one_line_naming(done.stderr, path)
    assert "not a Game Boy ROM" in done.stderr


def test_bad_boot_rom_gives_one_line_and_status_2(tmp_path, capsys):
    rom = write(tmp_path, "ok.gb", SILENT)
    boot = write(tmp_path, "boot.bin", bytes(100))
    status = cli.main(["run", str(rom), "--headless", "--frames", "1", "--boot-rom", str(boot)])
    assert status == 2
    assert_one_line_naming(capsys.readouterr().err, boot)


def test_usage_errors_give_status_2(tmp_path, capsys):
    assert cli.main(["run"]) == 2
    assert cli.main(["test", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert cli.main(["test", str(tmp_path)]) == 2          # a directory without ROMs
    assert "no ROM" in capsys.readouterr().err


def test_no_arguments_without_demo_rom_prints_usage(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "DEMO_ROM", tmp_path / "demo.gb")
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert "no ROM given" in err and "usage:" in err


def test_test_reports_verdicts_summary_and_junit(tmp_path, capsys):
    roms = tmp_path / "roms"
    roms.mkdir()
    good = write(roms, "good.gb", PASSING)
    (roms / "sub").mkdir()
    bad = write(roms / "sub", "bad.gb", FAILING)
    write(roms, "readme.txt", b"not a ROM, not searched")
    report = tmp_path / "report.xml"

    status = cli.main(["test", str(roms), "--junit", str(report), "--timeout", "5"])
    out = capsys.readouterr().out.splitlines()

    assert status == 1
    assert out[0].startswith("PASS") and str(good) in out[0]
    assert out[1].startswith("FAIL") and str(bad) in out[1]
    assert "$42" in out[1]
    assert out[-1] == "1 passed, 1 failed"
    assert len(out) == 3

    suite = ET.parse(report).getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {str(good), str(bad)}
    assert cases[str(good)].find("failure") is None
    failure = cases[str(bad)].find("failure")
    assert failure is not None and "$42" in failure.get("message")
    for case in cases.values():
        float(case.get("time"))
        emulated = case.find("properties/property[@name='emulated_seconds']")
        assert 0 < float(emulated.get("value")) < 5


def test_test_all_passing_exits_0_and_quiet_prints_only_summary(tmp_path, capsys):
    good = write(tmp_path, "good.gb", PASSING)
    assert cli.main(["test", str(good), "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines() == ["1 passed, 0 failed"]


def test_test_counts_timeouts_and_errors(tmp_path, capsys):
    silent = write(tmp_path, "a-silent.gb", SILENT)
    empty = write(tmp_path, "b-empty.gb", b"")
    assert cli.main(["test", str(silent), str(empty), "--timeout", "0.3"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("TIMEOUT") and str(silent) in out[0]
    assert out[1].startswith("ERROR") and str(empty) in out[1] and "file is empty" in out[1]
    assert out[-1] == "0 passed, 0 failed, 1 timed out, 1 errors"


def test_test_with_two_jobs_matches_one_job(tmp_path, capsys):
    paths = [write(tmp_path, f"rom{n}.gb", image)
             for n, image in enumerate((PASSING, FAILING, PASSING))]
    args = ["test"] + [str(p) for p in paths] + ["--timeout", "5"]
    assert cli.main(args) == 1
    sequential = capsys.readouterr().out
    assert cli.main(args + ["--jobs", "2"]) == 1
    parallel = capsys.readouterr().out
    verdicts = [line.split()[:2] for line in sequential.splitlines()]
    assert verdicts == [line.split()[:2] for line in parallel.splitlines()]
    assert [v[0] for v in verdicts[:3]] == ["PASS", "FAIL", "PASS"]


def test_run_headless_prints_serial_output(tmp_path, capsys):
    rom = write(tmp_path, "hello.gb",
                romimages.build_rom(romimages.serial_print("Hello, link\n")
                                    + romimages.LOOP_FOREVER))
    assert cli.main(["run", str(rom), "--headless", "--seconds", "0.5", "--serial"]) == 0
    assert capsys.readouterr().out == "Hello, link\n"


def test_run_without_serial_prints_nothing_on_stdout(tmp_path, capsys):
    rom = write(tmp_path, "hello.gb",
                romimages.build_rom(romimages.serial_print("Hi") + romimages.LOOP_FOREVER))
    assert cli.main([str(rom), "--headless", "--frames", "10"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""


def test_compile_notice_when_the_cache_is_cold(tmp_path, capsys, monkeypatch):
    from gbemu import _cache

    monkeypatch.setattr(_cache, "is_cold", lambda cache: True)
    rom = write(tmp_path, "good.gb", PASSING)
    assert cli.main(["test", str(rom)]) == 0
    assert capsys.readouterr().err.strip() == cli.COMPILE_NOTICE


def test_interrupt_exits_130_quietly(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "command_run", interrupted)
    rom = write(tmp_path, "good.gb", PASSING)
    assert cli.main(["run", str(rom), "--headless"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_the_cache_folder_is_named_after_the_core_sources_and_where_they_are(
        monkeypatch, tmp_path):
    import shutil

    from gbemu import _cache

    here = _cache.core_hash()
    copy = tmp_path / "core"
    shutil.copytree(_cache.CORE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_cache, "CORE_DIR", copy)
    same_sources_elsewhere = _cache.core_hash()
    (copy / "timer.py").write_text((copy / "timer.py").read_text() + "\n# edited\n")
    edited = _cache.core_hash()
    assert len({here, same_sources_elsewhere, edited}) == 3
