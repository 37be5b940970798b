"""The window frontend without a screen (SDL's dummy drivers): settings, key and gamepad
bindings, pause / fast-forward / frame advance, the frame pacer's schedule, what ends up
in the window, screenshots, and the one shutdown path.
"""

from __future__ import annotations

import os
import random
import types

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from gbemu import cli, config  # noqa: E402
from gbemu import frontend as fe  # noqa: E402
from gbemu.machine import FRAME_CYCLES  # noqa: E402
from tests.romroot import REPO_ROOT  # noqa: E402

DEMO = REPO_ROOT / "gbemu" / "assets" / "demo.gb"


class FakeGameBoy:
    """What the frontend uses of a GameBoy: screen, header, run_cycles, set_buttons."""

    def __init__(self):
        self.screen = np.zeros((144, 160), np.uint8)
        self.header = types.SimpleNamespace(title="FAKE GAME", has_battery=False)
        self.has_battery = False
        self.cycles_run = []
        self.button_calls = []

    def run_cycles(self, cycles):
        self.cycles_run.append(cycles)
        return 0

    def set_buttons(self, names):
        self.button_calls.append(list(names))


@pytest.fixture
def settings():
    return config.defaults()


@pytest.fixture
def frontend(settings, tmp_path):
    settings["screenshot"]["directory"] = str(tmp_path / "shots")
    out = open(tmp_path / "out.txt", "w+")
    front = fe.Frontend(FakeGameBoy(), settings, rom_path=tmp_path / "game.gb", out=out)
    yield front
    front.shutdown()
    out.close()


def key(code, down=True):
    return pygame.event.Event(pygame.KEYDOWN if down else pygame.KEYUP, key=code, mod=0)


# -- settings -------------------------------------------------------------------------

def test_default_config_text_is_the_defaults_with_comments():
    text = config.default_config_text()
    import tomllib
    parsed = tomllib.loads(text)
    assert config.merge(config.defaults(), parsed) == config.DEFAULTS
    assert text.count("\n# ") >= 10
    assert all(len(line) < 100 for line in text.splitlines())


def test_config_file_lives_under_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.default_config_path() == tmp_path / "gbemu" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config.default_config_path().parts[-3:] == (".config", "gbemu", "config.toml")


def test_missing_file_gives_defaults_and_file_overrides(tmp_path):
    assert config.load(tmp_path / "none.toml") == config.DEFAULTS
    path = tmp_path / "c.toml"
    path.write_text('[window]\nscale = 5\npalette = "mine"\n[keys]\na = "k"\n'
                    '[palettes]\nmine = ["#ffffff", "#aaaaaa", "#555555", "#000000"]\n')
    loaded = config.load(path)
    assert loaded["window"]["scale"] == 5
    assert loaded["keys"]["a"] == ["k"]
    assert loaded["keys"]["b"] == ["z"]                      # untouched default
    assert config.palette_colours(loaded, "mine")[1] == (0xAA, 0xAA, 0xAA)
    assert config.palette_names(loaded)[-1] == "mine"


BAD_CONFIGS = {
    "not toml": ("[window\n", "not valid TOML"),
    "unknown section": ("[audio]\nvolume = 1\n", "unknown section [audio]"),
    "unknown key": ("[window]\nzoom = 2\n", "unknown setting window.zoom"),
    "wrong type": ("[window]\nscale = \"big\"\n", "window.scale: expected a whole number"),
    "scale range": ("[window]\nscale = 40\n", "window.scale: 40 is outside 1-10"),
    "bool": ("[window]\nfullscreen = 1\n", "window.fullscreen: expected true or false"),
    "palette": ("[window]\npalette = \"pink\"\n", "unknown palette 'pink'"),
    "colour": ("[palettes]\nx = [\"#12\"]\n", "palettes.x: a palette is four colours"),
    "size": ("[screenshot]\nsize = \"huge\"\n", "screenshot.size: expected one of"),
    "volume range": ("[sound]\nvolume = 150\n", "sound.volume: 150 is outside 0-100"),
    "volume type": ("[sound]\nvolume = 0.5\n", "sound.volume: expected a whole number"),
    "fast-forward sound": ("[sound]\nfast_forward = \"loud\"\n",
                           "sound.fast_forward: expected one of mute, pitch"),
}


@pytest.mark.parametrize("text, message", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_is_one_error_naming_file_and_setting(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_unknown_key_or_gamepad_name_is_a_config_error(settings):
    settings["keys"]["a"] = ["notakey"]
    with pytest.raises(config.ConfigError, match="keys.a: unknown key name 'notakey'"):
        fe.Controls(settings, "my.toml")
    settings = config.defaults()
    settings["gamepad"]["b"] = ["triangle"]
    with pytest.raises(config.ConfigError, match="gamepad.b: unknown gamepad name"):
        fe.Controls(settings, "my.toml")


def test_write_config_writes_once_and_never_overwrites(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert cli.main(["--write-config"]) == 0
    path = tmp_path / "gbemu" / "config.toml"
    assert str(path) in capsys.readouterr().out
    assert path.read_text() == config.default_config_text()
    path.write_text("[window]\nscale = 2\n")
    assert cli.main(["--write-config"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_text() == "[window]\nscale = 2\n"


def test_command_line_overrides_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[window]\nscale = 2\npalette = "green"\n[speed]\nfast_forward = 8\n')
    parser = cli.build_parser()
    args = parser.parse_args(["run", "x.gb", "--config", str(path), "--scale", "4",
                              "--fast-forward", "0"])
    settings = cli.window_settings(args)
    assert settings["window"]["scale"] == 4
    assert settings["window"]["palette"] == "green"          # from the file
    assert settings["speed"]["fast_forward"] == 0.0          # 0 = unlimited
    args = parser.parse_args(["run", "x.gb", "--config", str(path), "--palette", "nope"])
    with pytest.raises(cli.UsageError, match="command line: window.palette"):
        cli.window_settings(args)
    args = parser.parse_args(["run", "x.gb", "--config", str(tmp_path / "missing.toml")])
    with pytest.raises(cli.UsageError, match="no such file"):
        cli.window_settings(args)


# -- bindings and controls ------------------------------------------------------------

DEFAULT_KEYS = {
    pygame.K_RIGHT: "right", pygame.K_LEFT: "left", pygame.K_UP: "up", pygame.K_DOWN: "down",
    pygame.K_x: "a", pygame.K_z: "b", pygame.K_RETURN: "start",
    pygame.K_BACKSPACE: "select", pygame.K_RSHIFT: "select",
}


@pytest.mark.parametrize("code, button", DEFAULT_KEYS.items(),
                         ids=[pygame.key.name(k) for k in DEFAULT_KEYS])
def test_default_keys(settings, code, button):
    controls = fe.Controls(settings)
    controls.key_down(code)
    assert controls.buttons() == [button]
    controls.key_up(code)
    assert controls.buttons() == []


def test_held_buttons_combine_in_machine_order(settings):
    controls = fe.Controls(settings)
    for code in (pygame.K_RETURN, pygame.K_x, pygame.K_LEFT):
        controls.key_down(code)
    assert controls.buttons() == ["left", "a", "start"]


def test_remapped_keys(settings):
    settings["keys"]["a"] = ["k", "space"]
    controls = fe.Controls(settings)
    controls.key_down(pygame.K_x)
    assert controls.buttons() == []
    controls.key_down(pygame.K_SPACE)
    assert controls.buttons() == ["a"]


def test_gamepad_buttons_sticks_and_unplugging(settings):
    controls = fe.Controls(settings)
    controls.pad_button(7, pygame.CONTROLLER_BUTTON_DPAD_UP, True)
    controls.pad_button(7, pygame.CONTROLLER_BUTTON_B, True)
    assert controls.buttons() == ["up", "a"]
    controls.pad_axis(7, pygame.CONTROLLER_AXIS_LEFTX, -30000)
    assert controls.buttons() == ["left", "up", "a"]
    controls.pad_axis(7, pygame.CONTROLLER_AXIS_LEFTX, -8000)        # inside the dead zone
    assert controls.buttons() == ["up", "a"]
    controls.pad_axis(7, pygame.CONTROLLER_AXIS_LEFTX, 32767)
    assert "right" in controls.buttons()
    controls.pad_removed(7)                                         # unplugged: all released
    assert controls.buttons() == []


def test_pause_and_frame_advance(settings):
    controls = fe.Controls(settings)
    assert controls.frames_to_run() == 1
    controls.key_down(pygame.K_n)                                   # ignored while running
    assert controls.frames_to_run() == 1
    controls.key_down(pygame.K_p)
    assert controls.paused and controls.frames_to_run() == 0
    controls.key_down(pygame.K_n)
    controls.key_down(pygame.K_n)
    assert [controls.frames_to_run() for _ in range(3)] == [1, 1, 0]
    controls.key_down(pygame.K_p)
    assert not controls.paused and controls.frames_to_run() == 1


def test_fast_forward_while_held_with_its_cap(settings):
    controls = fe.Controls(settings)
    assert controls.speed_cap() == 1.0
    controls.key_down(pygame.K_TAB)
    assert controls.speed_cap() == 4.0
    controls.key_up(pygame.K_TAB)
    assert controls.speed_cap() == 1.0
    settings["speed"]["fast_forward"] = 0.0
    unlimited = fe.Controls(settings)
    unlimited.key_down(pygame.K_TAB)
    assert unlimited.speed_cap() == 0.0


def test_focus_loss_pauses_only_when_configured(settings):
    controls = fe.Controls(settings)
    controls.focus(False)
    assert not controls.paused
    settings["window"]["pause_on_focus_loss"] = True
    controls = fe.Controls(settings)
    controls.focus(False)
    assert controls.paused
    controls.focus(True)
    assert not controls.paused
    controls.key_down(pygame.K_p)                  # paused by the user: focus does not resume
    controls.focus(False)
    controls.focus(True)
    assert controls.paused


def test_palette_key_cycles_through_every_palette(settings):
    settings["palettes"]["mine"] = ["#000000"] * 4
    controls = fe.Controls(settings)
    seen = [controls.palette]
    for _ in range(len(config.PALETTES) + 1):
        controls.key_down(pygame.K_F10)
        seen.append(controls.palette)
    assert seen == list(config.PALETTES) + ["mine", "grey"]


# -- pacing ---------------------------------------------------------------------------

class FakeClock:
    """A clock that moves only when slept on or worked in; sleeps overshoot a little."""

    def __init__(self, overshoot=0.0, seed=1):
        self.now = 1000.0
        self.rng = random.Random(seed)
        self.overshoot = overshoot
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += max(seconds, 0) + self.rng.uniform(0, self.overshoot)
        if seconds == 0:
            self.now += 0.00005

    def work(self, seconds):
        self.now += seconds


def test_deadlines_are_counted_from_a_fixed_origin_without_drift():
    clock = FakeClock(overshoot=0.0004)
    pacer = fe.FramePacer(clock=clock, sleep=clock.sleep)
    start = clock()
    frames = 600
    for _ in range(frames):
        clock.work(clock.rng.uniform(0.001, 0.012))                 # emulation takes a while
        pacer.wait()
    # Every frame ends at its deadline (plus at most one sleep's overshoot), however the
    # errors fall: after 600 frames the clock is where 600 periods put it.
    assert abs((clock() - start) - frames * fe.FRAME_PERIOD) < 0.001
    assert pacer.restarts == 0


def test_pacer_sleeps_most_of_the_wait_instead_of_spinning():
    clock = FakeClock()
    pacer = fe.FramePacer(clock=clock, sleep=clock.sleep)
    clock.work(0.004)
    pacer.wait()
    long_sleeps = [s for s in clock.sleeps if s > 0]
    assert long_sleeps and long_sleeps[0] == pytest.approx(
        fe.FRAME_PERIOD - 0.004 - fe.SPIN_MARGIN)
    assert clock() == pytest.approx(pacer.origin + fe.FRAME_PERIOD, abs=1e-4)


def test_frame_period_is_the_dmg_frame():
    assert fe.FRAME_PERIOD == pytest.approx(0.016742, abs=1e-6)
    assert fe.FRAME_RATE == pytest.approx(59.7275, abs=1e-4)


def test_a_long_stall_restarts_the_schedule_instead_of_racing_to_catch_up():
    clock = FakeClock()
    pacer = fe.FramePacer(clock=clock, sleep=clock.sleep)
    pacer.wait()
    clock.work(1.0)                                  # e.g. the window was dragged
    pacer.wait()
    assert pacer.restarts == 1
    before = clock()
    pacer.wait()
    assert clock() - before == pytest.approx(fe.FRAME_PERIOD, abs=1e-4)


def test_unlimited_speed_never_waits_and_speed_change_rebases():
    clock = FakeClock()
    pacer = fe.FramePacer(clock=clock, sleep=clock.sleep)
    pacer.set_period(0.0)
    before = clock()
    for _ in range(100):
        pacer.wait()
    assert clock() == before
    pacer.set_period(fe.FRAME_PERIOD / 4)
    assert pacer.origin == clock() and pacer.index == 0


def test_speed_meter_reads_percent_of_real_time():
    clock = FakeClock()
    meter = fe.SpeedMeter(clock=clock, interval=0.5)
    for _ in range(60):
        clock.work(fe.FRAME_PERIOD / 2)                # twice as fast as a DMG
        meter.count()
    assert meter.percent == pytest.approx(200, rel=0.05)


# -- the window -----------------------------------------------------------------------

def window_pixels(front) -> np.ndarray:
    return pygame.surfarray.array3d(front.window).transpose(1, 0, 2)


def test_window_shows_the_screen_scaled_crisply_in_the_palette(frontend):
    rng = np.random.default_rng(3)
    frontend.gb.screen[:] = rng.integers(0, 4, (144, 160), dtype=np.uint8)
    frontend.present()
    pixels = window_pixels(frontend)
    assert pixels.shape == (432, 480, 3)
    grey = np.array(config.palette_colours(frontend.settings, "grey"), np.uint8)
    expected = grey[frontend.gb.screen].repeat(3, axis=0).repeat(3, axis=1)
    assert np.array_equal(pixels, expected)


def test_palette_key_recolours_the_window(frontend):
    frontend.gb.screen[:] = np.arange(160, dtype=np.uint8)[None, :] % 4
    pygame.event.post(key(pygame.K_F10))
    assert frontend.step()
    green = np.array(config.palette_colours(frontend.settings, "green"), np.uint8)
    assert np.array_equal(window_pixels(frontend)[::3, ::3], green[frontend.gb.screen])


@pytest.mark.parametrize("size, shape", [("native", (144, 160)), ("window", (432, 480))])
def test_screenshot_png_at_native_or_window_size(frontend, size, shape):
    frontend.settings["screenshot"]["size"] = size
    frontend.gb.screen[:] = 2
    frontend.gb.screen[:10, :20] = 3
    pygame.event.post(key(pygame.K_F12))
    frontend.step()
    (path,) = frontend.screenshots
    assert path.is_file() and path.suffix == ".png"
    frontend.out.seek(0)
    assert f"screenshot saved to {path}" in frontend.out.read()
    image = pygame.surfarray.array3d(pygame.image.load(str(path))).transpose(1, 0, 2)
    assert image.shape[:2] == shape
    scale = shape[0] // 144
    assert tuple(image[0, 0]) == (0, 0, 0)
    assert tuple(image[10 * scale, 20 * scale]) == (0x55, 0x55, 0x55)
    frontend.screenshot()
    assert len(set(frontend.screenshots)) == 2                 # a second one never overwrites


def test_a_frame_per_step_and_buttons_sent_on_change(frontend):
    gb = frontend.gb
    frontend.step()
    assert gb.cycles_run == [FRAME_CYCLES]
    pygame.event.post(key(pygame.K_x))
    frontend.step()
    pygame.event.post(key(pygame.K_LEFT))
    frontend.step()
    frontend.step()
    pygame.event.post(key(pygame.K_x, down=False))
    frontend.step()
    assert gb.button_calls == [["a"], ["left", "a"], ["left"]]
    pygame.event.post(key(pygame.K_p))
    frontend.step()
    frontend.step()
    assert len(gb.cycles_run) == 5                           # paused: nothing emulated
    assert "paused" in pygame.display.get_caption()[0]


def test_title_bar_names_the_game_and_speed(frontend):
    caption = pygame.display.get_caption()[0]
    assert caption.startswith("FAKE GAME - gbemu - ")
    assert caption.endswith("%")


def test_escape_and_close_button_quit_through_shutdown(settings, tmp_path):
    for event in (key(pygame.K_ESCAPE), pygame.event.Event(pygame.QUIT)):
        front = fe.Frontend(FakeGameBoy(), settings)
        calls = []
        front.on_shutdown(lambda: calls.append("first"))
        front.on_shutdown(lambda: calls.append("second"))
        pygame.event.post(event)
        assert front.run() == 0
        assert calls == ["second", "first"]
        front.shutdown()                                        # a second call does nothing
        assert calls == ["second", "first"]


def test_shutdown_runs_every_hook_even_after_an_error(settings, capsys):
    front = fe.Frontend(FakeGameBoy(), settings)
    calls = []

    def broken():
        raise OSError("disk full")

    front.on_shutdown(lambda: calls.append("saved"))
    front.on_shutdown(broken)

    def crash():
        raise RuntimeError("emulator bug")
    front.gb.run_cycles = lambda cycles: crash()
    with pytest.raises(RuntimeError):
        front.run()
    assert calls == ["saved"]
    assert "disk full" in capsys.readouterr().err


def test_battery_saves_load_at_start_poll_between_frames_close_at_shutdown(
        settings, tmp_path, monkeypatch, capsys):
    from gbemu import saves

    log = []

    class SaveManager:
        kept = []                   # backups made after going back in time: none here

        def __init__(self, gb, rom_path):
            log.append(("init", rom_path.name))

        def load(self):
            log.append("load")
            return ["zelda.sav: odd size; kept it as a backup"]

        def poll(self, now):
            log.append("poll")
            if log.count("poll") == 1:
                raise saves.SaveError("zelda.sav: cannot write the save (disk full)")
            return False

        def close(self):
            log.append("close")
            return True

    monkeypatch.setattr(saves, "SaveManager", SaveManager)
    front = fe.Frontend(FakeGameBoy(), settings, rom_path=tmp_path / "zelda.gb")
    front.pacer = fe.FramePacer(period=0.0)
    front.run(max_frames=3)
    assert log == [("init", "zelda.gb"), "load", "poll", "poll", "poll", "close"]
    err = capsys.readouterr().err
    assert "warning: zelda.sav: odd size" in err and "disk full" in err


def test_the_demo_plays_in_the_window(settings):
    from gbemu.machine import GameBoy

    gb = GameBoy.from_file(DEMO)
    front = fe.Frontend(gb, settings, rom_path=DEMO)
    front.pacer = fe.FramePacer(period=0.0)                     # no need to wait here
    front.run(max_frames=40)
    assert front.frames_run == 40
    assert front.caption().startswith("GBEMU DEMO - gbemu - ")
    shades = np.asarray(gb.screen)
    assert len(np.unique(shades)) >= 3, "the demo draws several shades"


def test_gbemu_with_no_rom_plays_the_demo(monkeypatch):
    shown = {}

    def run_window(gb, args, settings):
        shown["title"] = gb.header.title
        shown["scale"] = settings["window"]["scale"]
        return 0

    monkeypatch.setattr(cli, "run_window", run_window)
    assert cli.main(["--scale", "2"]) == 0
    assert shown == {"title": "GBEMU DEMO", "scale": 2}
    assert cli.main([]) == 0
    assert shown["scale"] == 3


def test_no_display_is_one_line_and_status_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SDL_VIDEODRIVER", "no-such-driver")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert cli.main([str(DEMO), "--frames", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gbemu: cannot open a window (")
    assert err[0].endswith("use --headless")


def test_window_options_run_the_window_for_the_frames_asked(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "gbemu").mkdir()
    (tmp_path / "gbemu" / "config.toml").write_text('[window]\npalette = "green"\n')
    seen = {}
    real_run = fe.Frontend.run

    def run(self, max_frames=None):
        seen.update(scale=self.scale, palette=self.controls.palette, frames=max_frames)
        self.pacer = fe.FramePacer(period=0.0)
        return real_run(self, max_frames)

    monkeypatch.setattr(fe.Frontend, "run", run)
    assert cli.main([str(DEMO), "--scale", "2", "--frames", "5"]) == 0
    assert seen == {"scale": 2, "palette": "green", "frames": 5}


def test_sigterm_ends_the_loop_through_shutdown(settings):
    import signal

    front = fe.Frontend(FakeGameBoy(), settings)
    front.pacer = fe.FramePacer(period=0.0)
    calls = []
    front.on_shutdown(lambda: calls.append("shutdown"))
    front.on_frame(lambda: os.kill(os.getpid(), signal.SIGTERM))
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        front.run()
    assert calls == ["shutdown"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_fullscreen_keeps_a_whole_number_scale_centred(frontend):
    frontend.gb.screen[:] = 3
    pygame.event.post(key(pygame.K_F11))
    frontend.step()
    width, height = frontend.window.get_size()
    scale = min(width // 160, height // 144)
    assert frontend.fullscreen and scale >= 1
    assert frontend.view.size == (160 * scale, 144 * scale)
    assert frontend.view.center == (width // 2, height // 2)
    pixels = window_pixels(frontend)
    inside = pixels[frontend.view.top:frontend.view.bottom,
                    frontend.view.left:frontend.view.right]
    assert (inside == 0).all()                      # shade 3 is black in the grey palette
    pygame.event.post(key(pygame.K_F11))
    frontend.step()
    # Back in a window (SDL's dummy driver keeps the desktop's size; test_xvfb.py checks
    # a real window shrinks back).
    assert not frontend.fullscreen
    width, height = frontend.window.get_size()
    scale = min(width // 160, height // 144)
    assert frontend.view.size == (160 * scale, 144 * scale)


def test_unlimited_fast_forward_runs_many_frames_per_step(frontend):
    frontend.controls.fast_forward_cap = 0.0
    pygame.event.post(key(pygame.K_TAB))
    frontend.step()
    assert len(frontend.gb.cycles_run) > 1
    assert frontend.frames_run == len(frontend.gb.cycles_run)
    pygame.event.post(key(pygame.K_TAB, down=False))
    frontend.step()
    assert frontend.pacer.period == pytest.approx(fe.FRAME_PERIOD)


def test_gamepad_events_hot_plug_and_press(frontend):
    class Pad:
        name = "Test Pad"

        def __init__(self, index):
            self.index = index

        def as_joystick(self):
            return types.SimpleNamespace(get_instance_id=lambda: 40 + self.index)

    frontend._controller_api = types.SimpleNamespace(is_controller=lambda i: True,
                                                     Controller=Pad)
    post = pygame.event.post
    post(pygame.event.Event(pygame.CONTROLLERDEVICEADDED, device_index=2))
    post(pygame.event.Event(pygame.CONTROLLERBUTTONDOWN, instance_id=42,
                            button=pygame.CONTROLLER_BUTTON_START))
    frontend.step()
    assert frontend.gb.button_calls[-1] == ["start"]
    post(pygame.event.Event(pygame.CONTROLLERDEVICEREMOVED, instance_id=42))
    frontend.step()
    assert frontend.gb.button_calls[-1] == []
    frontend.out.seek(0)
    printed = frontend.out.read()
    assert "gamepad connected: Test Pad" in printed
    assert "gamepad disconnected: Test Pad" in printed


def test_window_focus_events_pause_when_configured(settings):
    settings["window"]["pause_on_focus_loss"] = True
    front = fe.Frontend(FakeGameBoy(), settings)
    try:
        front.handle_event(pygame.event.Event(pygame.WINDOWFOCUSLOST))
        assert front.controls.paused and front.status() == "paused"
        front.handle_event(pygame.event.Event(pygame.WINDOWFOCUSGAINED))
        assert not front.controls.paused
    finally:
        front.shutdown()


# -- sound: volume, mute, fast-forward, pause -------------------------------------------

class SoundingGameBoy(FakeGameBoy):
    """A FakeGameBoy whose every frame makes a frame of a 440 Hz tone at 65,536 Hz."""

    def __init__(self):
        super().__init__()
        self.audio_enabled = False
        self.samples_made = 0
        self.unread = 0

    def run_cycles(self, cycles):
        self.unread += cycles * 65_536 // 4_194_304
        return super().run_cycles(cycles)

    def read_samples(self):
        t = np.arange(self.samples_made, self.samples_made + self.unread) / 65_536
        self.samples_made += self.unread
        self.unread = 0
        wave_ = np.round(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        return np.stack([wave_, wave_], axis=1)


def sound_on(front, mode="mute"):
    """Attach an AudioOutput playing on a model sound card, as gbemu.cli does with
    pygame's mixer; the pacer, the card and the output share one model clock."""
    from gbemu.audio import AudioOutput, feed_every_frame
    from tests.test_apu import ModelDevice, model_sound

    clock = FakeClock()
    front.pacer = fe.FramePacer(clock=clock, sleep=clock.sleep)
    front.settings["sound"]["fast_forward"] = mode
    output = AudioOutput()
    device = ModelDevice(clock, 48_000, 0.0)
    output.attach(device, model_sound, 48_000, clock=clock)
    front.attach_sound(output)
    feed_every_frame(front, front.gb, output)
    return output, device


def steps(front, count):
    for _ in range(count):
        assert front.step()


def test_volume_and_mute_keys_set_the_sound_gain_and_show_in_the_title(
        settings, monkeypatch):
    from gbemu.audio import volume_gain

    settings["sound"]["volume"] = 50
    front = fe.Frontend(SoundingGameBoy(), settings)
    try:
        output, device = sound_on(front)
        assert device.volume == pytest.approx(0.25)              # the [sound] volume
        for _ in range(3):
            pygame.event.post(key(pygame.K_MINUS))
        front.step()
        assert device.volume == pytest.approx(volume_gain(20))
        assert pygame.display.get_caption()[0].endswith("% - volume 20%")
        for _ in range(9):
            pygame.event.post(key(pygame.K_EQUALS))
        front.step()
        assert device.volume == 1.0 and front.controls.volume == 100      # clamped
        pygame.event.post(key(pygame.K_m))
        front.step()
        assert device.volume == 0.0 and output.muted                      # silence
        monkeypatch.setattr(fe, "NOTICE_SECONDS", 0.0)
        pygame.event.post(key(pygame.K_KP_MINUS))                         # also unmutes
        front.step()
        assert device.volume == pytest.approx(volume_gain(90)) and not output.muted
        front.step()                                 # the notice is over: the speed alone
        assert pygame.display.get_caption()[0].endswith("%")
        pygame.event.post(key(pygame.K_m))
        steps(front, 2)
        assert pygame.display.get_caption()[0].endswith(" - muted")       # while muted
    finally:
        front.shutdown()


def test_volume_keys_without_sound_say_so(frontend):
    pygame.event.post(key(pygame.K_EQUALS))
    frontend.step()
    assert pygame.display.get_caption()[0].endswith(" - no sound")


def test_muted_fast_forward_in_the_window_stops_the_sound_and_resumes_after(settings):
    front = fe.Frontend(SoundingGameBoy(), settings)
    try:
        output, device = sound_on(front, "mute")
        steps(front, 8)
        assert device.get_busy()
        handed = output.handed
        pygame.event.post(key(pygame.K_TAB))
        steps(front, 30)
        assert len(front.gb.cycles_run) == 38 and output.speed == 4.0
        assert output.handed == handed and not device.get_busy() and output.level == 0
        pygame.event.post(key(pygame.K_TAB, down=False))
        steps(front, 6)                              # 80 ms of sound waiting: it plays
        assert device.get_busy() and output.speed == 1.0
        steps(front, 120)
        assert output.underruns == 0 and output.dropped == 0
    finally:
        front.shutdown()


def test_pitched_fast_forward_in_the_window_plays_at_the_speed_up(settings):
    front = fe.Frontend(SoundingGameBoy(), settings)
    try:
        output, device = sound_on(front, "pitch")
        steps(front, 60)
        before = output.handed + output.fifo_len
        steps(front, 60)
        normal = output.handed + output.fifo_len - before
        pygame.event.post(key(pygame.K_TAB))
        steps(front, 60)
        before = output.handed + output.fifo_len
        steps(front, 60)
        fast = output.handed + output.fifo_len - before
        assert output.speed == 4.0 and output.pitch == pytest.approx(4.0, rel=0.01)
        assert fast == pytest.approx(normal / 4, rel=0.03)
        assert device.get_busy() and output.underruns == 0 and output.dropped == 0
        pygame.event.post(key(pygame.K_TAB, down=False))
        steps(front, 2)
        assert output.speed == 1.0 and output.pitch == 1.0
    finally:
        front.shutdown()


def test_pause_silences_the_sound_at_once(settings):
    front = fe.Frontend(SoundingGameBoy(), settings)
    try:
        output, device = sound_on(front)
        steps(front, 10)
        assert device.get_busy()
        pygame.event.post(key(pygame.K_p))
        front.step()
        assert not device.get_busy() and output.level == 0
        pygame.event.post(key(pygame.K_p))
        steps(front, 10)
        assert device.get_busy() and output.underruns == 0
    finally:
        front.shutdown()
