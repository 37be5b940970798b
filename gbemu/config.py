"""The window frontend's settings: defaults, the TOML file in the user's config directory,
and command-line overrides.

The file is ``$XDG_CONFIG_HOME/gbemu/config.toml`` (``~/.config/gbemu/config.toml`` when
XDG_CONFIG_HOME is unset). Every setting is optional; `default_config_text` renders the
complete file with a comment on each setting, which ``gbemu --write-config`` writes.

Key names are pygame's (``pygame.key.name``: "x", "return", "right shift", "f12");
gamepad names are SDL game controller names ("a", "b", "start", "back", "dpup",
"leftshoulder"), plus "leftx-", "leftx+", "lefty-", "lefty+" (and the right stick)
for a stick pushed past ``axis_threshold``. The frontend checks the names; this module
checks the file's shape and types, and needs no pygame.
"""

from __future__ import annotations

import copy
import os
import re
import textwrap
import tomllib
from pathlib import Path

from gbemu.audio import FAST_FORWARD_MODES

APP = "gbemu"
CONFIG_NAME = "config.toml"

GAME_BUTTONS = ("right", "left", "up", "down", "a", "b", "select", "start")
CONTROLS = ("pause", "fast_forward", "frame_advance", "screenshot", "palette",
            "fullscreen", "volume_down", "volume_up", "mute", "quit")

# The DMG's four shades, lightest first, as the screen shows them in each palette.
PALETTES = {
    "grey": ("#FFFFFF", "#AAAAAA", "#555555", "#000000"),
    "green": ("#9BBC0F", "#8BAC0F", "#306230", "#0F380F"),
    "pocket": ("#C4CFA1", "#8B956D", "#4D533C", "#1F1F1F"),
    "amber": ("#FFD27F", "#D08A2F", "#8A4A1A", "#2A1408"),
    "ice": ("#E0F8F8", "#88C0D0", "#3F6F8F", "#0B1E2D"),
}

DEFAULTS = {
    "window": {
        "scale": 3,
        "fullscreen": False,
        "palette": "grey",
        "pause_on_focus_loss": False,
    },
    "speed": {
        "fast_forward": 4.0,
        "rewind_seconds": 60.0,
    },
    "sound": {
        "volume": 100,
        "fast_forward": "mute",
    },
    "screenshot": {
        "size": "native",
        "directory": "",
    },
    "keys": {
        "right": ["right"], "left": ["left"], "up": ["up"], "down": ["down"],
        "a": ["x"], "b": ["z"], "select": ["backspace", "right shift"], "start": ["return"],
        "pause": ["p"], "fast_forward": ["tab"], "frame_advance": ["n"],
        "screenshot": ["f12"], "palette": ["f10"], "fullscreen": ["f11"],
        "volume_down": ["-", "[-]"], "volume_up": ["=", "+", "[+]"], "mute": ["m"],
        "save_state": ["f5"], "load_state": ["f8"],
        "state_slot_previous": ["f6"], "state_slot_next": ["f7"], "rewind": ["r"],
        "quit": ["escape"],
    },
    "gamepad": {
        "right": ["dpright", "leftx+"], "left": ["dpleft", "leftx-"],
        "up": ["dpup", "lefty-"], "down": ["dpdown", "lefty+"],
        "a": ["b"], "b": ["a"], "select": ["back"], "start": ["start"],
        "pause": ["guide"], "fast_forward": ["rightshoulder"], "rewind": ["leftshoulder"],
        "axis_threshold": 0.5,
    },
    "palettes": {},
}

COMMENTS = {
    "window": "The window.",
    "window.scale": "Window size as a whole multiple of 160x144 (1-10).",
    "window.fullscreen": "Start in fullscreen (F11 toggles).",
    "window.palette": ("Screen colours: " + ", ".join(PALETTES)
                       + ", or a name from [palettes] (F10 cycles)."),
    "window.pause_on_focus_loss": "Pause while the window is not focused.",
    "speed": "Speed.",
    "speed.fast_forward": "Highest speed while fast-forward is held, x real time; 0 = unlimited.",
    "speed.rewind_seconds": ("Seconds of play kept for rewinding (hold R); 0 = no rewind. "
                             "A minute of it takes 43 MiB of memory, plus 0.9 MiB per "
                             "KiB of the cartridge's RAM."),
    "sound": "Sound in the window.",
    "sound.volume": ("Volume at start, in percent (0-100); the volume keys (- and =) change it "
                     "in steps of 10, M mutes."),
    "sound.fast_forward": ('While fast-forwarding: "mute" (silent) or "pitch" (the sound '
                           "plays sped up, faster and higher)."),
    "screenshot": "Screenshots (F12), saved as PNG.",
    "screenshot.size": '"native" (160x144) or "window" (the window\'s size).',
    "screenshot.directory": "Folder for screenshots; empty = the current directory.",
    "keys": ("Keyboard: each Game Boy button and control takes a list of pygame key names "
             "(\"x\", \"return\", \"right shift\", \"f12\", ...)."),
    "gamepad": ("Gamepads (hot-plugged): SDL controller names a b x y back guide start "
                "leftstick rightstick leftshoulder rightshoulder dpup dpdown dpleft dpright, "
                "and leftx- leftx+ lefty- lefty+ rightx- rightx+ righty- righty+ "
                "for the sticks."),
    "gamepad.axis_threshold": "How far (0-1) a stick must be pushed to press a direction.",
    "palettes": ('Your own palettes: name = ["#lightest", "#light", "#dark", "#darkest"], '
                 'e.g. mine = ["#E0F8D0", "#88C070", "#346856", "#081820"].'),
}

SCALE_RANGE = (1, 10)
SCREENSHOT_SIZES = ("native", "window")
VOLUME_RANGE = (0, 100)
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class ConfigError(Exception):
    """A problem with a configuration file; str() names the file."""

    def __init__(self, path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


def config_dir() -> Path:
    """The user's gbemu configuration folder (XDG base directory rules)."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / APP


def default_config_path() -> Path:
    return config_dir() / CONFIG_NAME


def defaults() -> dict:
    """A fresh copy of the default settings."""
    return copy.deepcopy(DEFAULTS)


def load(path=None, *, required: bool = False) -> dict:
    """Settings from ``path`` (default: the user's file) laid over the defaults.

    A missing file gives the defaults, unless ``required``. Raises ConfigError
    for a file that cannot be read, is not TOML, or holds an unknown setting or a
    value of the wrong type.
    """
    path = Path(path) if path is not None else default_config_path()
    settings = defaults()
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        if required:
            raise ConfigError(path, "no such file") from None
        return settings
    except OSError as err:
        raise ConfigError(path, f"cannot read ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(path, f"not valid TOML ({err})") from None
    merge(settings, data, path)
    return settings


def merge(settings: dict, data: dict, path="<config>") -> dict:
    """Lay ``data`` (parsed TOML) over ``settings``, checking every name and type."""
    for section, values in data.items():
        if section not in DEFAULTS:
            raise ConfigError(path, f"unknown section [{section}] "
                                    f"(known: {', '.join(DEFAULTS)})")
        if not isinstance(values, dict):
            raise ConfigError(path, f"{section} must be a section ([{section}])")
        for key, value in values.items():
            settings[section][key] = _checked(section, key, value, path)
    palette = settings["window"]["palette"]
    if palette not in PALETTES and palette not in settings["palettes"]:
        raise ConfigError(path, f"window.palette: unknown palette {palette!r} "
                                f"(known: {', '.join(palette_names(settings))})")
    return settings


def _checked(section: str, key: str, value, path):
    name = f"{section}.{key}"
    if section == "palettes":
        if (not isinstance(value, list) or len(value) != 4
                or not all(isinstance(c, str) and _COLOUR.match(c) for c in value)):
            raise ConfigError(path, f"{name}: a palette is four colours like \"#9BBC0F\"")
        return [c.upper() for c in value]
    known = DEFAULTS[section]
    if key not in known:
        raise ConfigError(path, f"unknown setting {name} (known in [{section}]: "
                                f"{', '.join(known)})")
    default = known[key]
    if isinstance(default, list):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(path, f"{name}: expected a list of names, like [\"x\"]")
        return [v.strip().lower() for v in value]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(path, f"{name}: expected true or false")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, f"{name}: expected a number")
        value = float(value)
        if value < 0 or (key == "axis_threshold" and not 0 < value < 1):
            raise ConfigError(path, f"{name}: {value:g} is out of range")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"{name}: expected a whole number")
        for limited, (low, high) in (("window.scale", SCALE_RANGE),
                                     ("sound.volume", VOLUME_RANGE)):
            if name == limited and not low <= value <= high:
                raise ConfigError(path, f"{name}: {value} is outside {low}-{high}")
        return value
    if not isinstance(value, str):
        raise ConfigError(path, f"{name}: expected a string")
    for limited, choices in (("screenshot.size", SCREENSHOT_SIZES),
                             ("sound.fast_forward", FAST_FORWARD_MODES)):
        if name == limited and value not in choices:
            raise ConfigError(path, f"{name}: expected one of {', '.join(choices)}")
    return value


def palette_names(settings: dict) -> list[str]:
    """Built-in palettes, then the user's, in cycling order."""
    return list(PALETTES) + [name for name in settings["palettes"] if name not in PALETTES]


def palette_colours(settings: dict, name: str) -> list[tuple[int, int, int]]:
    """The four (r, g, b) colours of a palette, lightest first."""
    colours = settings["palettes"].get(name) or PALETTES[name]
    return [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colours]


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, 86)]


def default_config_text() -> str:
    """The default configuration as a commented TOML file."""
    lines = ["# gbemu configuration. Every setting is optional: a missing one keeps its",
             "# default (shown here). Command-line options override this file.", ""]
    for section, values in DEFAULTS.items():
        lines += _comment(COMMENTS[section])
        lines.append(f"[{section}]")
        for key, value in values.items():
            comment = COMMENTS.get(f"{section}.{key}")
            if comment:
                lines += _comment(comment)
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def write_default(path=None) -> Path:
    """Write the commented default file; never overwrites one that exists."""
    path = Path(path) if path is not None else default_config_path()
    if path.exists():
        raise ConfigError(path, "already exists; not overwritten (move it away first)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as file:
            file.write(default_config_text())
    except OSError as err:
        raise ConfigError(path, f"cannot write ({err.strerror})") from None
    return path
