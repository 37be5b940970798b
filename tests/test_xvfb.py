"""The real program in a real X window: ``python -m gbemu gbemu/assets/demo.gb --scale 3``
under Xvfb, driven with xdotool and photographed with ImageMagick's ``import``.

Checks what a player sees: the window is 3x the Game Boy screen, every emulated pixel a
crisp 3x3 block in the grey palette; the title bar names the game; the demo's bottom
bar shows exactly what a headless run of the same ROM draws, with no key and with keys
held (held keys reach the game: the bar lists them, the ball moves and changes, B
inverts the colours); F12 saves a screenshot and prints its path; Esc quits cleanly.

The window screenshots are kept as artefacts in $GBEMU_ARTIFACTS (default: a
gbemu-artifacts folder in the temp directory) and their paths printed. Skips, saying
why, when Xvfb, xdotool or ImageMagick is missing (.ci/run installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from tests.romroot import REPO_ROOT

DEMO = REPO_ROOT / "gbemu" / "assets" / "demo.gb"
SCALE = 3
GREY = np.array([[255, 255, 255], [170, 170, 170], [85, 85, 85], [0, 0, 0]], np.uint8)
BAR_ROWS = slice(128, 144)          # the demo's bottom bar (window layer): no scrolling
FIELD_ROWS = slice(0, 128)
START_TIMEOUT = 300                 # a cold numba cache compiles the core first
HOLD_SECONDS = 0.6
TOOLS = ("Xvfb", "xdotool", "import")


def artefact_dir() -> Path:
    folder = Path(os.environ.get("GBEMU_ARTIFACTS")
                  or Path(tempfile.gettempdir()) / "gbemu-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_display() -> int:
    for number in range(77, 140):
        if not Path(f"/tmp/.X{number}-lock").exists() and \
                not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    pytest.skip("no free X display number between :77 and :139")


@pytest.fixture(scope="module")
def display():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed "
                    "(apt-get install xvfb xdotool imagemagick)")
    number = free_display()
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1024x768x24",
                               "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 20
    while not socket.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            err = server.stderr.read().decode(errors="replace").strip().splitlines()
            pytest.skip(f"Xvfb :{number} did not start: {err[-1] if err else 'no output'}")
        time.sleep(0.05)
    yield f":{number}"
    server.terminate()
    server.wait(10)


class Program:
    """The emulator under test, its window id, and helpers to drive and photograph it."""

    def __init__(self, display_name: str, workdir: Path):
        self.env = dict(os.environ, DISPLAY=display_name, XDG_CONFIG_HOME=str(workdir),
                        PYTHONPATH=str(REPO_ROOT), SDL_AUDIODRIVER="dummy")
        self.env.pop("SDL_VIDEODRIVER", None)
        self.stdout_path = workdir / "stdout.txt"
        self.stdout = open(self.stdout_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gbemu", str(DEMO), "--scale", str(SCALE)],
            cwd=workdir, env=self.env, stdout=self.stdout, stderr=subprocess.STDOUT)
        found = self.xdotool("search", "--sync", "--class", "^gbemu$",
                             timeout=START_TIMEOUT)
        self.window = found.split()[0]

    def find_new_window(self, timeout=20):
        """SDL replaces its X window when it enters or leaves fullscreen: follow it."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            found = self.xdotool("search", "--onlyvisible", "--class", "^gbemu$",
                                 check=False).split()
            fresh = [w for w in found if w != self.window]
            if fresh and fresh == seen:          # the same for a moment: settled
                self.window = fresh[-1]
                return
            seen = fresh
            time.sleep(0.3)
        pytest.fail("the window was not replaced after F11")

    def xdotool(self, *args, timeout=30, check=True) -> str:
        try:
            done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"xdotool {' '.join(args)} timed out; program output:\n"
                        + self.output())
        if done.returncode != 0 and check:
            pytest.fail(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}; "
                        f"program output:\n{self.output()}")
        return done.stdout

    def output(self) -> str:
        self.stdout.flush()
        return self.stdout_path.read_text(errors="replace")

    def focus(self):
        self.xdotool("windowfocus", "--sync", self.window)

    def title(self) -> str:
        return self.xdotool("getwindowname", self.window).strip()

    def photograph(self, path: Path) -> np.ndarray:
        """The window's pixels as (height, width, 3) RGB, also saved to ``path``."""
        subprocess.run(["import", "-window", self.window, f"png:{path}"], env=self.env,
                       check=True, timeout=30)
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame
        return pygame.surfarray.array3d(pygame.image.load(str(path))).transpose(1, 0, 2)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.stdout.close()


@pytest.fixture(scope="module")
def program(display, tmp_path_factory):
    running = Program(display, tmp_path_factory.mktemp("xvfb"))
    yield running
    running.close()


def shades_of(pixels: np.ndarray) -> np.ndarray:
    """Window pixels -> the (144, 160) shade indices they show; asserts a crisp 3x scale."""
    assert pixels.shape == (144 * SCALE, 160 * SCALE, 3), pixels.shape
    blocks = pixels.reshape(144, SCALE, 160, SCALE, 3)
    corner = blocks[:, :1, :, :1, :]
    assert (blocks == corner).all(), "a Game Boy pixel is not one uniform 3x3 block"
    native = corner[:, 0, :, 0, :]
    match = (native[:, :, None, :] == GREY[None, None, :, :]).all(axis=3)
    assert match.any(axis=2).all(), "colours outside the grey palette"
    return match.argmax(axis=2).astype(np.uint8)


def reference_bar(buttons) -> np.ndarray:
    """The demo's bottom bar as a headless run draws it with ``buttons`` held."""
    from gbemu.machine import GameBoy

    gb = GameBoy.from_file(DEMO)
    gb.run_frames(30)
    gb.set_buttons(buttons)
    gb.run_frames(5)
    return np.array(gb.screen[BAR_ROWS])


def keep(capsys, path: Path, what: str):
    with capsys.disabled():
        print(f"\n[xvfb] {what}: {path}")


def hold(program, keys, path):
    program.focus()
    program.xdotool("keydown", *keys)
    time.sleep(HOLD_SECONDS)
    pixels = program.photograph(path)
    program.xdotool("keyup", *keys)
    time.sleep(0.2)
    return shades_of(pixels)


def ball_columns(shades: np.ndarray) -> float:
    """Mean column of the darkest pixels in the play field: only the ball uses shade 3."""
    rows, cols = np.nonzero(shades[FIELD_ROWS] == 3)
    assert len(cols) > 10, "no ball in the play field"
    return float(cols.mean())


def test_demo_window_shows_the_frame_and_answers_keys(program, capsys):
    out = artefact_dir()
    idle_path = out / "xvfb-demo-idle.png"
    expected_bar = reference_bar([])
    deadline = time.monotonic() + 60
    while True:
        # The window opens black and the demo draws its bar in its first frames.
        idle = shades_of(program.photograph(idle_path))
        if np.array_equal(idle[BAR_ROWS], expected_bar) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    keep(capsys, idle_path, "window, no key held")
    assert program.title().startswith("GBEMU DEMO - gbemu - ")

    assert np.array_equal(idle[BAR_ROWS], expected_bar), \
        "the bottom bar differs from the headless render"
    assert len(np.unique(idle[FIELD_ROWS])) >= 3, "the play field is not drawn"
    ball_before = ball_columns(idle)

    held_path = out / "xvfb-demo-right-a.png"
    held = hold(program, ("Right", "x"), held_path)
    keep(capsys, held_path, "window, Right and X (A) held")
    assert np.array_equal(held[BAR_ROWS], reference_bar(["right", "a"])), \
        "the bar does not show Right and A held"
    assert ball_columns(held) > ball_before + 5, "the ball did not move right"
    assert (held[FIELD_ROWS] == 2).sum() > (idle[FIELD_ROWS] == 2).sum() + 10, \
        "the ball did not change while A was held"

    b_path = out / "xvfb-demo-b.png"
    inverted = hold(program, ("z",), b_path)
    keep(capsys, b_path, "window, Z (B) held")
    assert np.array_equal(inverted[BAR_ROWS], reference_bar(["b"])), \
        "B did not invert the colours"


def test_f11_fullscreen_and_back(program, capsys):
    program.focus()
    program.xdotool("key", "F11")
    program.find_new_window()
    # With no window manager on Xvfb, nothing moves the fullscreen window to the corner.
    program.xdotool("windowmove", "--sync", program.window, "0", "0")
    time.sleep(0.5)
    path = artefact_dir() / "xvfb-demo-fullscreen.png"
    pixels = program.photograph(path)
    keep(capsys, path, "fullscreen")
    assert pixels.shape[:2] == (768, 1024)          # the whole Xvfb screen
    scale = min(1024 // 160, 768 // 144)            # 5: the largest whole number that fits
    top, left = (768 - 144 * scale) // 2, (1024 - 160 * scale) // 2
    picture = pixels[top:top + 144 * scale, left:left + 160 * scale]
    assert (pixels[:top] == 0).all() and (pixels[:, :left] == 0).all(), "not centred"
    blocks = picture.reshape(144, scale, 160, scale, 3)
    assert (blocks == blocks[:, :1, :, :1, :]).all(), "not a crisp whole-number scale"
    program.focus()
    program.xdotool("key", "F11")
    program.find_new_window()
    time.sleep(0.5)
    assert program.photograph(artefact_dir() / "xvfb-demo-windowed.png").shape[:2] == \
        (144 * SCALE, 160 * SCALE)


def test_f12_screenshot_and_escape_quits(program):
    program.focus()
    program.xdotool("key", "F12")
    deadline = time.monotonic() + 10
    while "screenshot saved to" not in program.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next((l for l in program.output().splitlines() if "screenshot saved to" in l),
                None)
    assert line is not None, program.output()
    path = Path(line.split("screenshot saved to ", 1)[1].strip())
    assert path.is_file()
    import pygame
    assert pygame.image.load(str(path)).get_size() == (160, 144)

    program.xdotool("key", "Escape")
    try:
        status = program.process.wait(20)
    except subprocess.TimeoutExpired:
        pytest.fail("Esc did not quit within 20 s")
    assert status == 0, program.output()
    assert "Traceback" not in program.output()


def test_debugger_window_shows_the_frame_it_stopped_at(display, tmp_path, capsys):
    """`gbemu debug` keeps the game's window open: stopped after `frame 120`, it shows
    the frame a headless debugger session stops at, and `quit` closes it cleanly."""
    import io

    from gbemu.debugger import Debugger
    from gbemu.machine import GameBoy

    env = dict(os.environ, DISPLAY=display, XDG_CONFIG_HOME=str(tmp_path),
               PYTHONPATH=str(REPO_ROOT), SDL_AUDIODRIVER="dummy")
    env.pop("SDL_VIDEODRIVER", None)
    process = subprocess.Popen([sys.executable, "-m", "gbemu", "debug", str(DEMO)],
                               cwd=tmp_path, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        found = subprocess.run(["xdotool", "search", "--sync", "--class", "^gbemu$"],
                               env=env, capture_output=True, text=True,
                               timeout=START_TIMEOUT).stdout.split()
        assert found, "the debugger opened no window"
        process.stdin.write("frame 120\n")
        process.stdin.flush()
        time.sleep(4)                   # 120 frames at the DMG's pace take 2 s
        path = artefact_dir() / "xvfb-debugger-stopped.png"
        subprocess.run(["import", "-window", found[0], f"png:{path}"], env=env, check=True,
                       timeout=30)
        keep(capsys, path, "debugger window, stopped after 120 frames")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame
        pixels = pygame.surfarray.array3d(pygame.image.load(str(path))).transpose(1, 0, 2)
        out, _ = process.communicate("registers\nquit\n", timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0, out
    assert "Frame complete" in out and "PC=" in out

    headless = Debugger(GameBoy.from_file(DEMO), out=io.StringIO())
    headless.advance(frames=120)
    assert (shades_of(pixels) == headless.gb.screen).all(), \
        "the window shows the frame the debugger stopped at"
