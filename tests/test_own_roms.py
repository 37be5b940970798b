"""gbemu's own test ROMs (roms_test/, built from source by tools/build_roms.py).

They report like the public suites (the Mooneye registers, or a reference picture of the
correct screen, NAME-dmg.png, drawn by tools/reference_screens.py), so
`gbemu test roms_test/` runs them unattended; there, with nobody pressing buttons,
joypad.gb checks what needs no player (the idle matrix, no spurious interrupt). Here a
scripted player also answers joypad.gb's prompts on the link port ("press DOWN START",
"hold A", "release") through GameBoy.set_buttons, the way the frontend presses buttons,
so the presses, the matrix reads and the joypad interrupt are checked too.
"""

from __future__ import annotations

from gbemu import cli
from gbemu.core import hwio
from gbemu.machine import GameBoy
from gbemu.testrunner import mooneye_verdict
from tests.romroot import REPO_ROOT

ROMS = REPO_ROOT / "roms_test"
SCRIPT_FRAMES = 3000



def test_gbemu_test_runs_our_roms_unattended(capsys):
    status = cli.main(["test", str(ROMS), "--timeout", "20"])
    out = capsys.readouterr().out.splitlines()
    roms = sorted(ROMS.glob("*.gb"))
    assert roms, "no ROM built in roms_test/ (python tools/build_roms.py)"
    assert out[-1] == f"{len(roms)} passed, 0 failed", "\n".join(out)
    assert status == 0


def test_window_rom_is_checked_by_its_picture():
    from gbemu.testrunner import run_test_rom

    result = run_test_rom(ROMS / "window.gb", timeout=5)
    assert (result.suite, result.verdict) == ("reference-screen", "pass"), result.detail


def play_scripted(path) -> tuple[str, str | None, list]:
    """Run a ROM, answering its link-port prompts; (transcript, verdict, buttons pressed)."""
    gb = GameBoy.from_file(path)
    gb.break_on_ld_b_b = True
    answered = 0
    pressed = []
    for _ in range(SCRIPT_FRAMES):
        events = gb.run_frames(1)
        lines = gb.serial_output.decode("latin-1").split("\n")[:-1]
        for line in lines[answered:]:
            word, _, names = line.partition(" ")
            if word in ("press", "hold"):
                buttons = names.lower().split()
                pressed.append(buttons)
                gb.set_buttons(buttons)
            elif line == "release":
                gb.set_buttons([])
        answered = len(lines)
        if events & hwio.EV_BREAKPOINT:
            found = mooneye_verdict(gb.registers)
            if found is not None:
                return gb.serial_output.decode("latin-1"), found[0], pressed
    return gb.serial_output.decode("latin-1"), None, pressed


def test_joypad_rom_with_a_player():
    transcript, verdict, pressed = play_scripted(ROMS / "joypad.gb")
    assert pressed == [["right"], ["a"], ["down", "start"], ["left", "up", "b", "select"],
                       ["a"]], transcript
    # Each press raised the interrupt and read back in the right half of the matrix.
    for reading in ("dpad 0E buttons 0F", "dpad 0F buttons 0E", "dpad 07 buttons 07",
                    "dpad 09 buttons 09"):
        assert reading in transcript, transcript
    assert "no input" not in transcript
    assert verdict == "pass", transcript
