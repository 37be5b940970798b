"""Save states and rewind: the machine comes back exactly, a state loads only where it
belongs, and going back in time never costs the player a newer battery save.

The API (GameBoy.save_state / load_state), the rewind ring, and both in the window
(F5 saves, F8 loads, F6/F7 choose the slot, R held rewinds) on SDL's dummy drivers.
"""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from gbemu import config, savestate  # noqa: E402
from gbemu import frontend as fe  # noqa: E402
from gbemu.machine import FRAME_CYCLES, GameBoy  # noqa: E402
from gbemu.saves import SaveManager  # noqa: E402
from tests.romimages import build_rom  # noqa: E402
from tests.romroot import REPO_ROOT  # noqa: E402

DEMO = REPO_ROOT / "gbemu" / "assets" / "demo.gb"
OTHER = REPO_ROOT / "roms_test" / "joypad.gb"
CART_MBC1_RAM_BATTERY = 0x03
RAM_8K = 0x02
# Enable the cartridge RAM, then count in $A000 for ever: INC [HL] with HL = $A000.
RAM_COUNTER = bytes((0x3E, 0x0A, 0xEA, 0x00, 0x00,      # LD A,$0A ; LD [$0000],A
                     0x21, 0x00, 0xA0,                  # LD HL,$A000
                     0x34, 0x18, 0xFD))                 # loop: INC [HL] ; JR loop


def record_bytes(gb) -> bytes:
    return gb.state.view(np.uint8)[:savestate.saved_size(gb)].tobytes()


def demo_with_input(frames: int) -> GameBoy:
    gb = GameBoy.from_file(DEMO)
    gb.set_buttons(["right", "a"])
    gb.run_frames(frames)
    return gb


# -- the API -----------------------------------------------------------------------------

def test_a_loaded_state_continues_exactly_as_the_original_did():
    gb = demo_with_input(90)
    state = gb.save_state()
    before = record_bytes(gb)
    gb.run_frames(120)
    screen, after, clock = gb.screen.copy(), record_bytes(gb), gb.clock
    assert after != before

    gb.load_state(state)
    assert record_bytes(gb) == before
    gb.run_frames(120)
    assert gb.clock == clock
    assert np.array_equal(gb.screen, screen)
    assert record_bytes(gb) == after

    # A fresh GameBoy for the same cartridge takes the state too.
    fresh = GameBoy.from_file(DEMO)
    fresh.load_state(state)
    assert record_bytes(fresh) == before


def test_a_state_is_small_and_leaves_the_rom_out():
    gb = demo_with_input(30)
    state = gb.save_state()
    assert len(state) < 64 * 1024
    assert savestate.saved_size(gb) < len(gb.rom) + 64 * 1024


def test_loading_keeps_the_sessions_own_settings():
    gb = demo_with_input(10)
    state = gb.save_state()
    other = GameBoy.from_file(DEMO)
    other.render = False
    other.audio_enabled = True
    other.event_mask = 0
    other.load_state(state)
    assert not other.render and other.audio_enabled and other.event_mask == 0
    assert len(other.read_samples()) == 0, "no samples from before the load"


@pytest.mark.parametrize("damage, message", [
    (lambda data: b"PK\x03\x04" + data[4:], "not a gbemu save state"),
    (lambda data: b"", "not a gbemu save state"),
    (lambda data: data[:len(savestate.MAGIC) + 5], "cut short"),
    (lambda data: data[:-40], "damaged save state"),
    (lambda data: data[:len(savestate.MAGIC) + 4] + bytes(16)
        + data[len(savestate.MAGIC) + 20:], "another version of gbemu"),
])
def test_a_damaged_or_foreign_file_is_refused_and_nothing_changes(damage, message):
    gb = demo_with_input(20)
    state = gb.save_state()
    gb.run_frames(5)
    before = record_bytes(gb)
    with pytest.raises(savestate.StateError) as refused:
        gb.load_state(damage(state), "slot.state1")
    assert str(refused.value).startswith("slot.state1: ") and message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert record_bytes(gb) == before


def test_a_state_of_another_cartridge_names_it_and_is_refused():
    state = demo_with_input(5).save_state()
    other = GameBoy.from_file(OTHER)
    before = record_bytes(other)
    with pytest.raises(ValueError, match=r"a state of 'GBEMU DEMO', not of this cartridge"):
        other.load_state(state, "demo.state1")
    assert record_bytes(other) == before


# -- the rewind ring -----------------------------------------------------------------------

def test_rewind_walks_back_through_the_snapshots_it_kept():
    gb = GameBoy.from_file(DEMO)
    rewind = savestate.Rewind(gb, seconds=1.0, every=4)       # 15 snapshots
    assert len(rewind.ring) == 15
    clocks = []
    for _ in range(100):
        gb.run_cycles(FRAME_CYCLES)
        rewind.record()
        if rewind.frames == 0:
            clocks.append(gb.clock)
    assert rewind.length == 15 and rewind.seconds_held == pytest.approx(1.0, abs=0.01)

    seen = []
    while rewind.step_back():
        seen.append(gb.clock)
    assert seen == clocks[::-1][:15], "newest first, the oldest ones overwritten"
    assert not rewind.step_back() and gb.clock == clocks[-15]

    # From there the machine runs on as it did the first time.
    screen_then = None
    replay = GameBoy.from_file(DEMO)
    while replay.clock < gb.clock + 10 * FRAME_CYCLES:
        replay.run_cycles(FRAME_CYCLES)
    screen_then = replay.screen.copy()
    while gb.clock < replay.clock:
        gb.run_cycles(FRAME_CYCLES)
    assert np.array_equal(gb.screen, screen_then)


# -- in the window -------------------------------------------------------------------------

def key(code, down=True):
    return pygame.event.Event(pygame.KEYDOWN if down else pygame.KEYUP, key=code, mod=0)


def press(front, code):
    pygame.event.post(key(code))
    pygame.event.post(key(code, down=False))
    assert front.step()


def steps(front, count):
    for _ in range(count):
        assert front.step()


@pytest.fixture
def window(tmp_path):
    """The demo in a window whose files go to tmp_path."""
    rom = tmp_path / "demo.gb"
    rom.write_bytes(DEMO.read_bytes())
    settings = config.defaults()
    out = open(tmp_path / "out.txt", "w+")
    front = fe.Frontend(GameBoy.from_file(rom), settings, rom_path=rom, out=out)
    front.pacer = fe.FramePacer(period=0.0)
    yield front
    front.shutdown()
    out.close()


def test_f5_saves_and_f8_loads_the_slot_beside_the_rom(window, tmp_path):
    steps(window, 30)
    press(window, pygame.K_F5)
    path = tmp_path / "demo.state1"
    assert path.is_file() and "state 1 saved" in window.caption()
    saved_clock = GameBoy.from_file(tmp_path / "demo.gb")
    saved_clock.load_state(path.read_bytes())
    steps(window, 40)
    assert window.gb.clock > saved_clock.clock

    press(window, pygame.K_F8)
    assert "state 1 loaded" in window.caption()
    # The load happened before that step's frame ran: one frame on from the saved clock.
    assert window.gb.clock - saved_clock.clock == pytest.approx(FRAME_CYCLES, abs=96)


def test_slot_keys_choose_the_file_and_an_empty_slot_says_so(window, tmp_path):
    press(window, pygame.K_F7)
    assert window.controls.state_slot == 2 and "slot 2 (empty)" in window.caption()
    press(window, pygame.K_F8)
    assert "no state 2" in window.caption()
    press(window, pygame.K_F5)
    assert (tmp_path / "demo.state2").is_file() and not (tmp_path / "demo.state1").exists()
    press(window, pygame.K_F6)
    press(window, pygame.K_F6)
    assert window.controls.state_slot == 9, "slots wrap around, 1 to 9"


def test_a_bad_state_file_is_one_line_and_the_game_goes_on(window, tmp_path, capsys):
    (tmp_path / "demo.state1").write_bytes(b"not a state at all")
    steps(window, 5)
    clock = window.gb.clock
    press(window, pygame.K_F8)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gbemu: {tmp_path / 'demo.state1'}: not a gbemu save state"]
    assert "state 1 not loaded" in window.caption()
    assert window.gb.clock > clock, "the game kept running"


def test_holding_r_rewinds_and_letting_go_plays_on(window):
    steps(window, 120)
    clock = window.gb.clock
    pygame.event.post(key(pygame.K_r))
    steps(window, 20)                       # 10 snapshots back, 4 frames each
    back = window.gb.clock
    assert clock - back == pytest.approx(40 * FRAME_CYCLES, abs=4 * FRAME_CYCLES)
    assert "rewinding" in window.caption()
    pygame.event.post(key(pygame.K_r, down=False))
    steps(window, 10)
    assert window.gb.clock == pytest.approx(back + 10 * FRAME_CYCLES, abs=FRAME_CYCLES)


def test_rewind_off_in_the_settings(tmp_path):
    settings = config.defaults()
    settings["speed"]["rewind_seconds"] = 0.0
    front = fe.Frontend(GameBoy.from_file(DEMO), settings, rom_path=tmp_path / "d.gb",
                        saves=False)
    try:
        front.pacer = fe.FramePacer(period=0.0)
        steps(front, 20)
        pygame.event.post(key(pygame.K_r))
        clock = front.gb.clock
        steps(front, 5)
        assert front.rewind is None and front.gb.clock > clock
    finally:
        front.shutdown()


def test_going_back_before_a_game_save_keeps_the_newer_save_file(tmp_path):
    rom = tmp_path / "counter.gb"
    rom.write_bytes(build_rom(RAM_COUNTER, cart_type=CART_MBC1_RAM_BATTERY,
                              ram_size_code=RAM_8K, title=b"COUNTER"))
    gb = GameBoy.from_file(rom)
    manager = SaveManager(gb, rom, delay=0.0)
    out = open(tmp_path / "out.txt", "w+")
    front = fe.Frontend(gb, config.defaults(), rom_path=rom, out=out, save_manager=manager)
    front.pacer = fe.FramePacer(period=0.0)
    save = tmp_path / "counter.sav"
    try:
        steps(front, 40)
        newest = save.read_bytes()
        assert newest[0] == gb.cart_ram[0], "the counter is saved as the game runs"
        assert not list(tmp_path.glob("counter.sav.bak-*"))

        pygame.event.post(key(pygame.K_r))
        steps(front, 8)
        pygame.event.post(key(pygame.K_r, down=False))
        steps(front, 2)
        backups = list(tmp_path.glob("counter.sav.bak-*"))
        assert len(backups) == 1
        assert backups[0].read_bytes() == newest, "the newer save, as it was"
        assert save.read_bytes() == bytes(gb.cart_ram), "the save follows the game again"
        out.seek(0)
        assert f"kept as {backups[0]}" in out.read()
    finally:
        front.shutdown()
        out.close()


# -- on the command line ---------------------------------------------------------------------

def test_run_saves_a_state_at_the_end_and_starts_from_it(tmp_path):
    from gbemu import cli, images

    rom = tmp_path / "demo.gb"
    rom.write_bytes(DEMO.read_bytes())
    state, shot, direct = tmp_path / "at60.state", tmp_path / "a.png", tmp_path / "b.png"
    assert cli.main(["run", str(rom), "--headless", "--frames", "60",
                     "--save-state", str(state)]) == 0
    assert cli.main(["run", str(rom), "--headless", "--frames", "30", "--load-state",
                     str(state), "--screenshot", str(shot)]) == 0
    assert cli.main(["run", str(rom), "--headless", "--frames", "90",
                     "--screenshot", str(direct)]) == 0
    assert np.array_equal(images.load_png(shot), images.load_png(direct)), \
        "60 frames, a state, 30 more frames: the same screen as 90 frames straight"


@pytest.mark.parametrize("contents, message", [
    (None, "cannot read the state"),
    (b"garbage", "not a gbemu save state"),
])
def test_run_with_a_bad_state_is_one_line_and_status_2(tmp_path, capsys, contents, message):
    from gbemu import cli

    state = tmp_path / "x.state1"
    if contents is not None:
        state.write_bytes(contents)
    status = cli.main(["run", str(DEMO), "--headless", "--frames", "1",
                       "--load-state", str(state)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and str(state) in err[0] and message in err[0]


def test_save_state_needs_headless(tmp_path, capsys):
    from gbemu import cli

    assert cli.main(["run", str(DEMO), "--save-state", str(tmp_path / "s")]) == 2
    assert "--save-state needs --headless" in capsys.readouterr().err


def test_the_window_starts_from_a_state_or_refuses_a_bad_one(tmp_path, monkeypatch, capsys):
    from gbemu import cli

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    rom = tmp_path / "demo.gb"
    rom.write_bytes(DEMO.read_bytes())
    state = tmp_path / "s.state1"
    assert cli.main(["run", str(rom), "--headless", "--frames", "50",
                     "--save-state", str(state)]) == 0
    seen = {}
    real_run = fe.Frontend.run

    def run(self, max_frames=None):
        seen["frames"] = self.gb.frames
        self.pacer = fe.FramePacer(period=0.0)
        return real_run(self, max_frames)

    monkeypatch.setattr(fe.Frontend, "run", run)
    assert cli.main([str(rom), "--load-state", str(state), "--frames", "2"]) == 0
    saved = GameBoy.from_file(rom)
    saved.load_state(state.read_bytes())
    assert seen["frames"] == saved.frames > 40, "the window began where the state was saved"

    state.write_bytes(b"nonsense")
    assert cli.main([str(rom), "--load-state", str(state), "--frames", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(f"{state}: not a gbemu save state")
