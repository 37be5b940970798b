"""The desktop window: shows the emulated screen, reads the keyboard and gamepads, and
keeps the emulation at the Game Boy's own frame rate.

One frame of the DMG is 70224 T-cycles at 4,194,304 Hz: 59.7275 frames a second, a period
of 16.742 ms, whatever the monitor's refresh. `FramePacer` schedules each frame's deadline
from a fixed origin (origin + n * period, read with perf_counter), so small sleep errors
never add up to drift; it sleeps until just before a deadline and waits out the rest, so
it does not keep a core busy.

A frame is shown by writing the shade indices (``gb.screen``: (144, 160) uint8, 0-3, BGP
already applied) into an 8-bit palettized surface whose palette is the chosen screen
colours, then scaling it by a whole number with nearest-neighbour sampling.

`Controls` holds the user-facing state (pause, fast-forward, frame advance, palette,
volume, the save state slot) and turns key and gamepad events into Game Boy buttons and
actions; it needs no window, so tests drive it directly. `Frontend` owns the window and
the main loop, and tells the sound output (`Frontend.attach_sound`, a
gbemu.audio.AudioOutput) the volume, the speed and when to fall silent. Every way out
(Esc, the close button, Ctrl-C, an error) goes through `Frontend.shutdown`, which runs
the callbacks registered with `Frontend.on_shutdown` exactly once.

Going back in time: F5 saves the machine to a numbered state file beside the battery
save (``game.state1``; F6 and F7 choose the slot) and F8 loads it; holding R rewinds
through the last minute of play (gbemu.savestate.Rewind keeps a snapshot every four
frames). Either can put the cartridge's battery RAM back to an earlier time; the save
file may then hold a newer game save, so before it is next written it is kept as a dated
backup (gbemu.saves.SaveManager.reverted).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from gbemu import config as cfg
from gbemu.audio import volume_gain
from gbemu.machine import BUTTONS, CLOCK_HZ, FRAME_CYCLES

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_VIDEO_X11_WMCLASS", "gbemu")    # the window's class on X11
import pygame  # noqa: E402  (after the prompt is silenced)

WindowError = pygame.error          # what pygame raises when there is no display

WIDTH, HEIGHT = 160, 144
FRAME_PERIOD = FRAME_CYCLES / CLOCK_HZ          # 0.0167427... s
FRAME_RATE = CLOCK_HZ / FRAME_CYCLES            # 59.7275 Hz
SPIN_MARGIN = 0.0005      # wake this long before a deadline and wait out the rest
MAX_LAG_FRAMES = 5        # further behind than this, the schedule restarts from now
PRESENT_INTERVAL = 1 / 60  # while fast-forwarding, show at most this often
TITLE_INTERVAL = 0.5      # refresh the speed in the title bar this often
UNLIMITED_BATCH = 0.010   # unlimited fast-forward emulates this long between event checks
TITLE_SEPARATOR = " - "
NOTICE_SECONDS = 2.0      # a volume change shows in the title bar this long
VOLUME_STEP = 10          # percent per press of a volume key
STATE_SLOTS = 9           # save state slots 1-9
REWIND_SHOW_EVERY = 2     # while rewinding, step back one snapshot every this many frames

CONTROLLER_BUTTONS = {
    "a": "CONTROLLER_BUTTON_A", "b": "CONTROLLER_BUTTON_B", "x": "CONTROLLER_BUTTON_X",
    "y": "CONTROLLER_BUTTON_Y", "back": "CONTROLLER_BUTTON_BACK",
    "guide": "CONTROLLER_BUTTON_GUIDE", "start": "CONTROLLER_BUTTON_START",
    "leftstick": "CONTROLLER_BUTTON_LEFTSTICK", "rightstick": "CONTROLLER_BUTTON_RIGHTSTICK",
    "leftshoulder": "CONTROLLER_BUTTON_LEFTSHOULDER",
    "rightshoulder": "CONTROLLER_BUTTON_RIGHTSHOULDER",
    "dpup": "CONTROLLER_BUTTON_DPAD_UP", "dpdown": "CONTROLLER_BUTTON_DPAD_DOWN",
    "dpleft": "CONTROLLER_BUTTON_DPAD_LEFT", "dpright": "CONTROLLER_BUTTON_DPAD_RIGHT",
}
CONTROLLER_AXES = {
    "leftx": "CONTROLLER_AXIS_LEFTX", "lefty": "CONTROLLER_AXIS_LEFTY",
    "rightx": "CONTROLLER_AXIS_RIGHTX", "righty": "CONTROLLER_AXIS_RIGHTY",
}
AXIS_FULL = 32767


# -- frame pacing ---------------------------------------------------------------------

class FramePacer:
    """Deadlines at a fixed period from a fixed origin; ``wait`` sleeps until the next.

    ``clock`` and ``sleep`` are injectable so the schedule can be tested without time
    passing. A period of 0 means no waiting at all (unlimited speed).
    """

    def __init__(self, period: float = FRAME_PERIOD, *, clock=time.perf_counter,
                 sleep=time.sleep, spin_margin: float = SPIN_MARGIN,
                 max_lag_frames: int = MAX_LAG_FRAMES):
        self.clock = clock
        self.sleep = sleep
        self.spin_margin = spin_margin
        self.max_lag_frames = max_lag_frames
        self.period = period
        self.restarts = 0
        self.restart()

    def restart(self):
        """Count deadlines from now: after a pause, a speed change or a long stall."""
        self.origin = self.clock()
        self.index = 0

    def set_period(self, period: float):
        if period != self.period:
            self.period = period
            self.restart()

    @property
    def next_deadline(self) -> float:
        return self.origin + (self.index + 1) * self.period

    def wait(self) -> float:
        """Wait for the next deadline; returns how late we were (s, 0 if on time)."""
        self.index += 1
        if self.period <= 0:
            return 0.0
        deadline = self.origin + self.index * self.period
        now = self.clock()
        late = now - deadline
        if late > self.max_lag_frames * self.period:
            # Too far behind to catch up without a burst of frames: start again from now.
            self.restarts += 1
            self.restart()
            return late
        remaining = deadline - now
        if remaining > self.spin_margin:
            self.sleep(remaining - self.spin_margin)
        while self.clock() < deadline:
            self.sleep(0)
        return max(late, 0.0)


class SpeedMeter:
    """Emulated frames per wall second over the last ``interval``, as a percentage."""

    def __init__(self, clock=time.perf_counter, interval: float = TITLE_INTERVAL):
        self.clock = clock
        self.interval = interval
        self.start = clock()
        self.frames = 0
        self.percent = 100.0

    def count(self, frames: int = 1) -> bool:
        """Count emulated frames; True when a new reading is ready."""
        self.frames += frames
        now = self.clock()
        elapsed = now - self.start
        if elapsed < self.interval:
            return False
        self.percent = 100.0 * self.frames / (elapsed * FRAME_RATE)
        self.start, self.frames = now, 0
        return True

    def reset(self):
        self.start, self.frames = self.clock(), 0


# -- input and controls ---------------------------------------------------------------

class Controls:
    """Key and gamepad bindings, the pressed Game Boy buttons, and the user's controls.

    ``settings`` is a gbemu.config dictionary. Unknown key or gamepad names raise
    ConfigError naming ``source`` (the config file, or "command line").
    """

    def __init__(self, settings: dict, source="<config>"):
        self.settings = settings
        pygame.display.init()       # key names resolve once the video system is up
        self.keys: dict[int, set[str]] = {}
        for action, names in settings["keys"].items():
            for name in names:
                try:
                    code = pygame.key.key_code(name)
                except ValueError:
                    raise cfg.ConfigError(source, f"keys.{action}: unknown key name {name!r}"
                                          " (pygame key names: \"x\", \"return\", "
                                          "\"right shift\", ...)") from None
                self.keys.setdefault(code, set()).add(action)
        self.pad_buttons: dict[int, set[str]] = {}
        self.pad_axes: dict[tuple[int, int], set[str]] = {}
        for action, names in settings["gamepad"].items():
            if action == "axis_threshold":
                continue
            for name in names:
                self._bind_pad(action, name, source)
        self.axis_threshold = settings["gamepad"]["axis_threshold"]
        self.held_keys: set[int] = set()
        self.held_pad: dict[int, set[str]] = {}     # controller instance -> actions held
        self.fast_forward_cap = settings["speed"]["fast_forward"]
        self.pause_on_focus_loss = settings["window"]["pause_on_focus_loss"]
        self.palettes = cfg.palette_names(settings)
        self.palette_index = self.palettes.index(settings["window"]["palette"])
        self.volume = settings["sound"]["volume"]           # percent, 0-100
        self.muted = False
        self.volume_changed = False     # set by the volume and mute keys, cleared by the reader
        self.paused = False
        self.paused_by_focus = False
        self.advance_frames = 0
        self.quit_requested = False
        self.screenshot_requested = False
        self.fullscreen_requested = False
        self.state_slot = 1
        self.state_request = None       # "save", "load" or "slot", until carried out

    def _bind_pad(self, action: str, name: str, source):
        if name in CONTROLLER_BUTTONS:
            code = getattr(pygame, CONTROLLER_BUTTONS[name])
            self.pad_buttons.setdefault(code, set()).add(action)
            return
        axis, sign = name[:-1], name[-1:]
        if axis in CONTROLLER_AXES and sign in "+-":
            code = getattr(pygame, CONTROLLER_AXES[axis])
            self.pad_axes.setdefault((code, 1 if sign == "+" else -1), set()).add(action)
            return
        raise cfg.ConfigError(source, f"gamepad.{action}: unknown gamepad name {name!r} "
                                      f"(known: {', '.join(CONTROLLER_BUTTONS)}, "
                                      "leftx-, leftx+, ...)")

    # -- what is held ---------------------------------------------------------------

    def held_actions(self) -> set[str]:
        actions = set()
        for code in self.held_keys:
            actions |= self.keys.get(code, set())
        for held in self.held_pad.values():
            actions |= held
        return actions

    def buttons(self) -> list[str]:
        """The Game Boy buttons held now, in gbemu.machine.BUTTONS order."""
        held = self.held_actions()
        return [name for name in BUTTONS if name in held]

    @property
    def fast_forward(self) -> bool:
        return "fast_forward" in self.held_actions()

    @property
    def palette(self) -> str:
        return self.palettes[self.palette_index]

    @property
    def rewinding(self) -> bool:
        return "rewind" in self.held_actions()

    def speed_cap(self) -> float:
        """Target speed as a multiple of real time; 0 = as fast as possible."""
        return self.fast_forward_cap if self.fast_forward else 1.0

    # -- events -----------------------------------------------------------------------

    def key_down(self, key: int):
        self.held_keys.add(key)
        for action in self.keys.get(key, ()):
            self._trigger(action)

    def key_up(self, key: int):
        self.held_keys.discard(key)

    def pad_button(self, instance: int, button: int, down: bool):
        held = self.held_pad.setdefault(instance, set())
        for action in self.pad_buttons.get(button, ()):
            if down:
                if action not in held:
                    self._trigger(action)
                held.add(action)
            else:
                held.discard(action)

    def pad_axis(self, instance: int, axis: int, value: int):
        held = self.held_pad.setdefault(instance, set())
        pushed = value / AXIS_FULL
        for sign in (1, -1):
            for action in self.pad_axes.get((axis, sign), ()):
                if pushed * sign >= self.axis_threshold:
                    if action not in held:
                        self._trigger(action)
                    held.add(action)
                else:
                    held.discard(action)

    def pad_removed(self, instance: int):
        self.held_pad.pop(instance, None)

    def focus(self, gained: bool):
        if not self.pause_on_focus_loss:
            return
        if not gained and not self.paused:
            self.paused = self.paused_by_focus = True
        elif gained and self.paused_by_focus:
            self.paused = self.paused_by_focus = False

    def _trigger(self, action: str):
        """A control's key went down."""
        if action == "pause":
            self.paused = not self.paused
            self.paused_by_focus = False
        elif action == "frame_advance" and self.paused:
            self.advance_frames += 1
        elif action == "palette":
            self.palette_index = (self.palette_index + 1) % len(self.palettes)
        elif action == "screenshot":
            self.screenshot_requested = True
        elif action == "fullscreen":
            self.fullscreen_requested = True
        elif action in ("volume_up", "volume_down"):
            # A volume key also unmutes: what it shows is then what is heard.
            step = VOLUME_STEP if action == "volume_up" else -VOLUME_STEP
            self.volume = min(max(self.volume + step, 0), 100)
            self.muted = False
            self.volume_changed = True
        elif action == "mute":
            self.muted = not self.muted
            self.volume_changed = True
        elif action in ("save_state", "load_state"):
            self.state_request = action.split("_")[0]
        elif action in ("state_slot_next", "state_slot_previous"):
            step = 1 if action == "state_slot_next" else -1
            self.state_slot = (self.state_slot - 1 + step) % STATE_SLOTS + 1
            self.state_request = "slot"
        elif action == "quit":
            self.quit_requested = True

    def frames_to_run(self) -> int:
        """1 while running; while paused, the frames asked for with frame advance."""
        if not self.paused:
            return 1
        if self.advance_frames:
            self.advance_frames -= 1
            return 1
        return 0


# -- the window -----------------------------------------------------------------------

class Frontend:
    """A window that runs ``gb`` (a gbemu.machine.GameBoy) at the DMG's frame rate."""

    def __init__(self, gb, settings: dict | None = None, *, title: str | None = None,
                 rom_path=None, config_source="<config>", out=None, save_manager=None,
                 saves: bool = True):
        self.gb = gb
        self.settings = settings if settings is not None else cfg.defaults()
        self.rom_path = Path(rom_path) if rom_path else None
        self.game_title = title or _game_title(gb, self.rom_path)
        self.out = out if out is not None else sys.stdout
        self.scale = self.settings["window"]["scale"]
        self.fullscreen = self.settings["window"]["fullscreen"]
        self._shutdown_hooks: list = []
        self._frame_hooks: list = []
        self.frames_run = 0
        self._shut_down = False
        self._pressed: list[str] = []
        self._controllers: dict = {}
        self.frames_shown = 0
        self.screenshots: list[Path] = []
        self.sound = None               # a gbemu.audio.AudioOutput, once attached
        self._notice = ""               # shown after the speed until _notice_until
        self._notice_until = 0.0

        # Only what the window needs: pygame.init() would also open the audio device.
        pygame.display.init()
        self.controls = Controls(self.settings, config_source)
        self.frame = pygame.Surface((WIDTH, HEIGHT), depth=8)
        self.pacer = FramePacer()
        self.meter = SpeedMeter()
        self.save_manager = None
        self.rewind = None              # a gbemu.savestate.Rewind, for a real GameBoy
        self._rewound = 0               # frames shown while rewinding
        try:
            self._open_window()
            self.set_palette(self.controls.palette)
            self._init_controllers()
            if saves:
                self._attach_saves(save_manager)
        except BaseException:
            pygame.quit()
            raise
        seconds = self.settings["speed"]["rewind_seconds"]
        if seconds > 0 and getattr(gb, "state", None) is not None:
            from gbemu.savestate import Rewind
            self.rewind = Rewind(gb, seconds)

    # -- shutdown -------------------------------------------------------------------

    def on_shutdown(self, callback):
        """Call ``callback()`` when the frontend shuts down (last registered runs first)."""
        self._shutdown_hooks.append(callback)
        return callback

    def on_frame(self, callback):
        """Call ``callback()`` after each stretch of emulation (a frame, or a fast batch)."""
        self._frame_hooks.append(callback)
        return callback

    def shutdown(self):
        """The one way out: run the shutdown callbacks once, then close the window."""
        if self._shut_down:
            return
        self._shut_down = True
        errors = []
        for callback in reversed(self._shutdown_hooks):
            try:
                callback()
            except Exception as err:  # one failing hook must not stop the others
                errors.append(err)
                print(f"gbemu: on shutdown, {getattr(callback, '__qualname__', callback)} "
                      f"failed: {err}", file=sys.stderr)
        pygame.quit()
        return errors

    def attach_sound(self, output):
        """Play through ``output`` (a started gbemu.audio.AudioOutput): from now on it
        takes its fast-forward mode from the [sound] settings, its volume from the volume
        and mute keys, its speed from the fast-forward key, and falls silent on pause."""
        self.sound = output
        output.fast_forward = self.settings["sound"]["fast_forward"]
        self._apply_volume()

    def _apply_volume(self):
        if self.sound is not None:
            self.sound.volume = volume_gain(self.controls.volume)
            self.sound.muted = self.controls.muted

    def _attach_saves(self, manager=None):
        """Battery saves (gbemu.saves): loaded now, written between frames and at shutdown."""
        from gbemu.saves import SaveError, SaveManager

        if manager is None:
            if self.rom_path is None:
                return
            manager = SaveManager(self.gb, self.rom_path)
        for warning in manager.load():
            print(f"gbemu: warning: {warning}", file=sys.stderr)
        self.save_manager = manager

        reported = [0]

        def report_kept():
            for path in manager.kept[reported[0]:]:
                print(f"gbemu: the battery save from before going back in time is kept "
                      f"as {path}", file=self.out, flush=True)
            reported[0] = len(manager.kept)

        def poll():
            try:
                manager.poll(time.monotonic())
            except SaveError as err:        # reported once; the manager tries again later
                print(f"gbemu: {err}", file=sys.stderr)
            report_kept()
        self.on_frame(poll)
        self.on_shutdown(report_kept)       # hooks run last first: after close's write
        self.on_shutdown(manager.close)

    # -- the window -------------------------------------------------------------------

    def _open_window(self):
        pygame.display.set_caption(self.caption())
        if self.fullscreen:
            self.window = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        else:
            self.window = pygame.display.set_mode((WIDTH * self.scale, HEIGHT * self.scale))
        self.window.fill((0, 0, 0))
        size = self.window.get_size()
        shown_scale = max(1, min(size[0] // WIDTH, size[1] // HEIGHT))
        self.view = pygame.Rect(0, 0, WIDTH * shown_scale, HEIGHT * shown_scale)
        self.view.center = (size[0] // 2, size[1] // 2)
        self.scaled = pygame.Surface(self.view.size, depth=8)

    def toggle_fullscreen(self):
        self.fullscreen = not self.fullscreen
        self._open_window()
        self.set_palette(self.controls.palette)
        self.present()

    def caption(self, status: str | None = None) -> str:
        parts = [self.game_title, "gbemu"]
        if status is None:
            status = self.status()
        if status:
            parts.append(status)
        return TITLE_SEPARATOR.join(parts)

    def status(self) -> str:
        """The speed (or "paused"), then a recent volume change, or "muted" while muted."""
        parts = ["paused" if self.controls.paused else f"{self.meter.percent:.0f}%"]
        if self._notice:
            parts.append(self._notice)
        elif self.controls.muted:
            parts.append("muted")
        return TITLE_SEPARATOR.join(parts)

    def notify(self, text: str, seconds: float | None = None):
        """Show ``text`` in the title bar, after the speed, for ``seconds`` (default
        NOTICE_SECONDS)."""
        self._notice = text
        self._notice_until = time.perf_counter() + (NOTICE_SECONDS if seconds is None
                                                    else seconds)
        pygame.display.set_caption(self.caption())

    def set_palette(self, name: str):
        colours = cfg.palette_colours(self.settings, name)
        self.frame.set_palette(colours + [(0, 0, 0)] * 252)
        if getattr(self, "scaled", None) is not None:
            self.scaled.set_palette(colours + [(0, 0, 0)] * 252)

    def present(self):
        """Show gb.screen in the window, scaled by a whole number."""
        pygame.surfarray.blit_array(self.frame, np.asarray(self.gb.screen).T)
        pygame.transform.scale(self.frame, self.view.size, self.scaled)
        self.window.blit(self.scaled, self.view)
        pygame.display.flip()
        self.frames_shown += 1

    def screenshot(self) -> Path:
        """Save the screen as PNG (native or window size, per the settings); returns the path."""
        folder = Path(self.settings["screenshot"]["directory"] or ".").expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        stem = self.rom_path.stem if self.rom_path else "gbemu"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = folder / f"{stem}-{stamp}.png"
        count = 1
        while path.exists():
            count += 1
            path = folder / f"{stem}-{stamp}-{count}.png"
        pygame.surfarray.blit_array(self.frame, np.asarray(self.gb.screen).T)
        image = self.frame
        if self.settings["screenshot"]["size"] == "window":
            image = pygame.transform.scale(self.frame, self.view.size)
        pygame.image.save(image, str(path))
        self.screenshots.append(path)
        return path

    # -- gamepads ---------------------------------------------------------------------

    def _init_controllers(self):
        try:
            from pygame._sdl2 import controller
        except ImportError:
            self._controller_api = None
            return
        self._controller_api = controller
        controller.init()
        # Already-connected pads arrive as CONTROLLERDEVICEADDED events too.

    def _controller_added(self, index: int):
        api = self._controller_api
        if api is None or not api.is_controller(index):
            return
        pad = api.Controller(index)
        instance = pad.as_joystick().get_instance_id()
        self._controllers[instance] = pad
        print(f"gbemu: gamepad connected: {pad.name}", file=self.out, flush=True)

    def _controller_removed(self, instance: int):
        pad = self._controllers.pop(instance, None)
        self.controls.pad_removed(instance)
        if pad is not None:
            print(f"gbemu: gamepad disconnected: {pad.name}", file=self.out, flush=True)

    # -- events -----------------------------------------------------------------------

    def handle_event(self, event):
        """Apply one pygame event to the controls and the window."""
        kind = event.type
        if kind == pygame.QUIT:
            self.controls.quit_requested = True
        elif kind == pygame.KEYDOWN:
            self.controls.key_down(event.key)
        elif kind == pygame.KEYUP:
            self.controls.key_up(event.key)
        elif kind == pygame.CONTROLLERDEVICEADDED:
            self._controller_added(event.device_index)
        elif kind == pygame.CONTROLLERDEVICEREMOVED:
            self._controller_removed(event.instance_id)
        elif kind in (pygame.CONTROLLERBUTTONDOWN, pygame.CONTROLLERBUTTONUP):
            self.controls.pad_button(event.instance_id, event.button,
                                     kind == pygame.CONTROLLERBUTTONDOWN)
        elif kind == pygame.CONTROLLERAXISMOTION:
            self.controls.pad_axis(event.instance_id, event.axis, event.value)
        elif kind == pygame.WINDOWFOCUSLOST:
            self.controls.focus(False)
        elif kind == pygame.WINDOWFOCUSGAINED:
            self.controls.focus(True)
        elif kind == pygame.WINDOWEXPOSED:
            self.window.blit(self.scaled, self.view)
            pygame.display.flip()

    def _apply_requests(self):
        """Carry out what the controls asked for since the last frame."""
        controls = self.controls
        if controls.screenshot_requested:
            controls.screenshot_requested = False
            path = self.screenshot()
            print(f"gbemu: screenshot saved to {path}", file=self.out, flush=True)
        if controls.fullscreen_requested:
            controls.fullscreen_requested = False
            self.toggle_fullscreen()
        if controls.volume_changed:
            controls.volume_changed = False
            self._apply_volume()
            if self.sound is None:
                self.notify("no sound")
            else:
                self.notify("muted" if controls.muted else f"volume {controls.volume}%")
        elif self._notice and time.perf_counter() >= self._notice_until:
            self._notice = ""
            pygame.display.set_caption(self.caption())
        if controls.state_request:
            request, controls.state_request = controls.state_request, None
            self._state_request(request, controls.state_slot)
        pressed = controls.buttons()
        if pressed != self._pressed:
            self._pressed = pressed
            self.gb.set_buttons(pressed)

    # -- save states and rewind -------------------------------------------------------

    def state_path(self, slot: int) -> Path | None:
        """The file of save state ``slot``: beside the battery save, ``game.state1``."""
        from gbemu.saves import STATE_SUFFIX, save_path

        if self.save_manager is not None:
            base = self.save_manager.path
        elif self.rom_path is not None:
            base = save_path(self.rom_path)
        else:
            return None
        return base.with_suffix(f"{STATE_SUFFIX}{slot}")

    def _state_request(self, request: str, slot: int):
        path = self.state_path(slot)
        if path is None or getattr(self.gb, "state", None) is None:
            self.notify("no save states here")
            return
        if request == "slot":
            self.notify(f"slot {slot}" + ("" if path.is_file() else " (empty)"))
        elif request == "save":
            self.save_state(path, slot)
        else:
            self.load_state(path, slot)

    def save_state(self, path: Path, slot: int) -> bool:
        from gbemu.saves import atomic_write

        try:
            atomic_write(path, self.gb.save_state())
        except OSError as err:
            print(f"gbemu: {path}: cannot write the state ({err.strerror or err})",
                  file=sys.stderr)
            self.notify(f"state {slot} not saved")
            return False
        print(f"gbemu: state {slot} saved to {path}", file=self.out, flush=True)
        self.notify(f"state {slot} saved")
        return True

    def load_state(self, path: Path, slot: int) -> bool:
        from gbemu.savestate import StateError

        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.notify(f"no state {slot}")
            return False
        except OSError as err:
            print(f"gbemu: {path}: cannot read the state ({err.strerror or err})",
                  file=sys.stderr)
            self.notify(f"state {slot} not loaded")
            return False
        try:
            self._go_back(lambda: self.gb.load_state(data, path))
        except StateError as err:
            print(f"gbemu: {err}", file=sys.stderr)
            self.notify(f"state {slot} not loaded")
            return False
        if self.rewind is not None:
            self.rewind.clear()         # the recorded past belongs to the other timeline
        self.notify(f"state {slot} loaded")
        self.present()
        return True

    def _go_back(self, travel):
        """Run ``travel`` (a state load or a rewind step), then tell the battery save
        if it put the cartridge RAM back to an earlier time."""
        manager = self.save_manager
        before = self.gb.cart_ram.copy() if manager is not None and manager.active else None
        travel()
        if before is not None and not np.array_equal(before, self.gb.cart_ram):
            manager.reverted()
        self._pressed = None            # the buttons held now, not those of the past

    def _rewind_frame(self):
        """One frame with the rewind key held: show the machine further back."""
        if self._rewound == 0 and self.sound is not None:
            self.sound.silence()
        self._rewound += 1
        if (self._rewound - 1) % REWIND_SHOW_EVERY == 0:
            self._go_back(self.rewind.step_back)
        self.present()
        seconds = self.rewind.seconds_held
        self.notify(f"rewinding, {seconds:.0f} s left" if seconds >= 1 else "rewind: no more",
                    NOTICE_SECONDS / 4)

    # -- the main loop ----------------------------------------------------------------

    def step(self) -> bool:
        """Handle events, emulate what is due and show it; False once quit is asked for."""
        palette = self.controls.palette
        was_paused = self.controls.paused
        for event in pygame.event.get():
            self.handle_event(event)
        if self.controls.quit_requested:
            return False
        if self.controls.palette != palette:
            self.set_palette(self.controls.palette)
            self.present()
        self._apply_requests()

        cap = self.controls.speed_cap()
        self.pacer.set_period(FRAME_PERIOD / cap if cap > 0 else 0.0)
        if self.sound is not None:
            self.sound.set_speed(cap if cap > 0 else None)
        if self.controls.paused != was_paused:
            self.pacer.restart()
            self.meter.reset()
            pygame.display.set_caption(self.caption())
            if self.controls.paused and self.sound is not None:
                self.sound.silence()

        if self.rewind is not None and self.controls.rewinding:
            self._rewind_frame()
            self.pacer.wait()
            return True
        self._rewound = 0

        frames = self.controls.frames_to_run()
        if frames == 0:
            # Paused: nothing to emulate; wake up for events a few times a frame.
            time.sleep(FRAME_PERIOD / 4)
            return True
        if cap == 0:
            self._run_unlimited()
        else:
            self.gb.run_cycles(FRAME_CYCLES)
            self.frames_run += 1
            if self.rewind is not None:
                self.rewind.record()
            for callback in self._frame_hooks:
                callback()
            if cap == 1 or self._present_due():
                self.present()
            if self.meter.count():
                pygame.display.set_caption(self.caption())
        self.pacer.wait()
        return True

    def _present_due(self) -> bool:
        now = time.perf_counter()
        if now - getattr(self, "_last_present", 0.0) >= PRESENT_INTERVAL:
            self._last_present = now
            return True
        return False

    def _run_unlimited(self):
        """Emulate back to back for a short while, then show the latest frame."""
        until = time.perf_counter() + UNLIMITED_BATCH
        frames = 0
        while True:
            self.gb.run_cycles(FRAME_CYCLES)
            frames += 1
            if self.rewind is not None:
                self.rewind.record()
            if time.perf_counter() >= until:
                break
        self.frames_run += frames
        for callback in self._frame_hooks:
            callback()
        if self._present_due():
            self.present()
        if self.meter.count(frames):
            pygame.display.set_caption(self.caption())

    def run(self, max_frames: int | None = None) -> int:
        """Run until the user quits (or ``max_frames`` frames are emulated); always shuts down.

        A SIGTERM ends the loop like Ctrl-C does (KeyboardInterrupt), through shutdown.
        """
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self.present()
            self.pacer.restart()
            self.meter.reset()
            while self.step():
                if max_frames is not None and self.frames_run >= max_frames:
                    break
        finally:
            self.shutdown()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return 0


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _game_title(gb, rom_path) -> str:
    header = getattr(gb, "header", None)
    title = getattr(header, "title", "") if header is not None else ""
    if title.strip():
        return title.strip()
    return rom_path.stem if rom_path else "gbemu"
