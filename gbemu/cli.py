"""The ``gbemu`` command line: run a ROM, or run test ROMs and report verdicts.

    gbemu [ROM] [window options]    play ROM in a window (no ROM: the demo)
    gbemu run ROM [--headless] [--frames N | --seconds S] [--serial] [--boot-rom PATH]
              [--wav PATH | --no-sound] [--save-dir DIR] [--strict-saves]
              [--load-state FILE] [--save-state FILE]
              [--scale N] [--fullscreen] [--palette NAME] [--fast-forward X]
              [--pause-on-focus-loss] [--config PATH] [--screenshot-dir DIR]
    gbemu --write-config            write the commented default config file
    gbemu test ROM|DIR... [--jobs N] [--timeout S] [--junit PATH] [--quiet] [--boot-rom PATH]
    gbemu debug ROM [--headless] [--symbols FILE] [--boot-rom PATH]

Bad input (a file that is not a runnable ROM) gives one line on stderr and
exit status 2; Ctrl-C stops quietly with status 130. The emulator is
imported only once a command needs it, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

PROG = "gbemu"
SUBCOMMANDS = ("run", "test", "debug")
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
MODELS = ("dmg",)          # emulated models; "cgb" will join them
TEST_TIMEOUT = 120.0
DEMO_ROM = Path(__file__).resolve().parent / "assets" / "demo.gb"
TOP_LEVEL_OPTIONS = ("-h", "--help", "--version", "--write-config")
COMPILE_NOTICE = f"{PROG}: compiling the emulator core (first run only, about a minute)..."


class UsageError(Exception):
    """A command line that cannot be carried out; the message is printed as-is."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A Game Boy (DMG) emulator. 'gbemu ROM' plays ROM.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--write-config", action="store_true",
                        help="write the commented default config file and exit")
    commands = parser.add_subparsers(dest="command", metavar="{run,test,debug}")

    run = commands.add_parser("run", help="run a ROM")
    run.add_argument("rom", help="the cartridge image (.gb)")
    run.add_argument("--headless", action="store_true", help="run without a window")
    length = run.add_mutually_exclusive_group()
    length.add_argument("--frames", type=_positive_int, metavar="N",
                        help="stop after N frames")
    length.add_argument("--seconds", type=_positive_float, metavar="S",
                        help="stop after S emulated seconds")
    run.add_argument("--serial", action="store_true",
                     help="print what the ROM sends on the link port")
    run.add_argument("--boot-rom", metavar="PATH", help="start from this 256-byte DMG boot ROM")
    run.add_argument("--model", choices=MODELS, default=MODELS[0],
                     help="the Game Boy to emulate (default dmg)")
    run.add_argument("--screenshot", metavar="PNG",
                     help="with --headless: write the last frame as a 160x144 PNG")
    sound = run.add_mutually_exclusive_group()
    sound.add_argument("--wav", metavar="PATH",
                       help="write what the game plays to a WAV file (16-bit stereo, 48 kHz)")
    sound.add_argument("--no-sound", action="store_true",
                       help="do not generate sound (faster; the sound registers still work)")
    run.add_argument("--save-dir", metavar="DIR",
                     help="keep battery saves in DIR (default: beside the ROM)")
    run.add_argument("--strict-saves", action="store_true",
                     help="refuse to start when the save file does not fit the cartridge")
    run.add_argument("--load-state", metavar="FILE",
                     help="start from a save state (F5 in the window, or --save-state)")
    run.add_argument("--save-state", metavar="FILE",
                     help="with --headless: write a save state of the machine at the end")
    window = run.add_argument_group("window options (override the config file)")
    window.add_argument("--scale", type=_positive_int, metavar="N",
                        help="window size as a multiple of 160x144 (default 3)")
    window.add_argument("--fullscreen", action=argparse.BooleanOptionalAction, default=None,
                        help="start in fullscreen (F11 toggles)")
    window.add_argument("--palette", metavar="NAME", help="screen colours (F10 cycles)")
    window.add_argument("--fast-forward", type=_non_negative_float, metavar="X",
                        help="speed cap while Tab is held, x real time (0 = unlimited)")
    window.add_argument("--pause-on-focus-loss", action=argparse.BooleanOptionalAction,
                        default=None, help="pause while the window is not focused")
    window.add_argument("--screenshot-dir", metavar="DIR", help="folder for F12 screenshots")
    window.add_argument("--config", metavar="PATH",
                        help="config file (default $XDG_CONFIG_HOME/gbemu/config.toml)")

    test = commands.add_parser("test", help="run test ROMs and report pass/fail")
    test.add_argument("paths", nargs="+", metavar="ROM|DIR",
                      help="ROM files, or directories searched for *.gb and *.gbc")
    test.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                      help="run N ROMs at once (default 1)")
    test.add_argument("--timeout", type=_positive_float, default=TEST_TIMEOUT,
                      metavar="SECONDS",
                      help=f"emulated seconds before a ROM times out (default {TEST_TIMEOUT:g})")
    test.add_argument("--junit", metavar="PATH", help="also write a JUnit XML report")
    test.add_argument("--artifacts", metavar="DIR",
                      help="where screen tests write actual/expected/diff images on failure "
                           "(default: beside the JUnit report, else ./gbemu-test-artifacts)")
    test.add_argument("--quiet", "-q", action="store_true",
                      help="print only ROMs that did not pass, and the summary")
    test.add_argument("--boot-rom", metavar="PATH", help="start from this 256-byte DMG boot ROM")

    debug = commands.add_parser(
        "debug", help="step through a ROM: breakpoints, watchpoints, going back in time",
        description="A command prompt for debugging a ROM ('help' lists the commands). "
                    "Commands are read from standard input, one per line, with no prompt "
                    "when it is not a terminal.")
    debug.add_argument("rom", help="the cartridge image (.gb)")
    debug.add_argument("--headless", action="store_true",
                       help="no window (by default the window shows the current frame)")
    debug.add_argument("--symbols", metavar="FILE",
                       help="labels from this .sym file (default: the ROM's .sym, if any)")
    debug.add_argument("--boot-rom", metavar="PATH", help="start from this 256-byte DMG boot ROM")
    debug.add_argument("--config", metavar="PATH",
                       help="config file for the window (keys, palette, scale)")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number: {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text}")
    return value


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: sys.argv[1:]) and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        if not argv or (argv[0].startswith("-") and argv[0] not in TOP_LEVEL_OPTIONS):
            # No ROM named: play the demo, with whatever options were given.
            if not DEMO_ROM.is_file():
                print(f"{PROG}: no ROM given (and no demo ROM at {DEMO_ROM})", file=sys.stderr)
                parser.print_usage(sys.stderr)
                return EXIT_USAGE
            argv = ["run", str(DEMO_ROM)] + argv
        elif argv[0] not in SUBCOMMANDS and not argv[0].startswith("-"):
            argv = ["run"] + argv
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else EXIT_USAGE
        if args.version:
            from gbemu import __version__
            print(f"{PROG} {__version__}")
            return EXIT_OK
        if args.write_config:
            return command_write_config()
        if args.command is None:
            parser.print_usage(sys.stderr)
            return EXIT_USAGE
        if args.command == "test":
            return command_test(args)
        if args.command == "debug":
            return command_debug(args)
        return command_run(args)
    except UsageError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (| head): stop without a traceback, and keep
        # Python from failing again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


# -- gbemu run ---------------------------------------------------------------

def command_run(args) -> int:
    gbemu = _import_emulator()
    from gbemu.cartridge import RomError, load_rom
    from gbemu.core import hwio
    from gbemu.machine import CLOCK_HZ, FRAME_CYCLES, SUPPORTED_MAPPERS, read_boot_rom

    settings = None if args.headless else window_settings(args)
    try:
        # Check the files before the (possibly long) first compile starts.
        load_rom(args.rom, tuple(SUPPORTED_MAPPERS))
        if args.boot_rom is not None:
            read_boot_rom(args.boot_rom)
        _notify_if_cold(gbemu)
        gb = gbemu.GameBoy.from_file(args.rom, boot_rom_path=args.boot_rom)
    except RomError as err:
        raise UsageError(str(err)) from None
    for warning in gb.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if args.screenshot is not None and not args.headless:
        raise UsageError("--screenshot needs --headless (in the window, F12 takes one)")
    if args.screenshot is not None:
        screenshot_palette = headless_palette(args.palette)
    if args.wav is not None and not args.headless:
        raise UsageError("--wav needs --headless (the window plays the sound instead)")
    if args.save_state is not None and not args.headless:
        raise UsageError("--save-state needs --headless (in the window, F5 saves a state)")
    if not args.headless:
        return run_window(gb, args, settings)     # the frontend keeps the battery saves
    state = _read_state(args.load_state) if args.load_state is not None else None
    saves = _load_saves(gb, args)
    try:
        if state is not None:
            _start_from_state(gb, state, args.load_state, saves)
        wav = _open_wav(args.wav, gb)
    except UsageError:
        _close_saves(saves)
        raise
    if args.frames is not None:
        stop_at = gb.clock + args.frames * FRAME_CYCLES
    elif args.seconds is not None:
        stop_at = gb.clock + int(args.seconds * CLOCK_HZ)
    else:
        stop_at = None

    serial_seen = 0
    reported_lockup = False
    with _StopSignals() as stop:
        while (stop_at is None or gb.clock < stop_at) and not stop.signal:
            target = gb.clock + FRAME_CYCLES
            if stop_at is not None:
                target = min(target, stop_at)
            events = gb.run_until(target)
            if wav is not None:
                wav.write(gb.read_samples())
            if args.serial:
                serial_seen = _print_new_serial(gb, serial_seen)
            if events & hwio.EV_ILLEGAL and not reported_lockup:
                reported_lockup = True
                print(f"{PROG}: the CPU locked up on an unused opcode "
                      f"(PC=${gb.registers['PC']:04X})", file=sys.stderr)
            _poll_saves(saves)
    if args.serial and serial_seen and not gb.serial_output.endswith(b"\n"):
        print()
    if args.screenshot is not None:
        write_screenshot(gb, args.screenshot, screenshot_palette)
    if wav is not None:
        wav.close()
        if wav.clipped:
            print(f"{PROG}: warning: {args.wav}: {wav.clipped} samples clipped",
                  file=sys.stderr)
    state_written = args.save_state is None or _write_state(gb, args.save_state)
    saved = _close_saves(saves)
    if stop.signal:
        if stop.signal == signal.SIGINT:
            print(file=sys.stderr)
        return 128 + stop.signal
    return EXIT_OK if saved and state_written else EXIT_FAILED


def _read_state(path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise UsageError(f"{path}: cannot read the state ({err.strerror or err})") from None


def _start_from_state(gb, data: bytes, path, saves):
    """Load a save state before the run; tell the battery save if that put its RAM
    back to an earlier time (gbemu.saves.SaveManager.reverted)."""
    from gbemu.savestate import StateError

    before = bytes(gb.cart_ram)
    try:
        gb.load_state(data, path)
    except StateError as err:
        raise UsageError(str(err)) from None
    if saves is not None and bytes(gb.cart_ram) != before:
        saves.reverted()


def _write_state(gb, path) -> bool:
    from gbemu.saves import atomic_write

    try:
        atomic_write(path, gb.save_state())
    except OSError as err:
        print(f"{PROG}: {path}: cannot write the state ({err.strerror or err})",
              file=sys.stderr)
        return False
    return True


def headless_palette(name):
    """The RGB colours of a palette named on the command line (default grey)."""
    from gbemu import config, images

    name = name or "grey"
    if name not in config.PALETTES:
        raise UsageError(f"unknown palette {name!r} (choose from {', '.join(config.PALETTES)})")
    return images.palette_from_hex(config.PALETTES[name])


def write_screenshot(gb, path, palette):
    from gbemu import images

    try:
        images.save_png(path, images.to_rgb(gb.screen, palette))
    except Exception as err:     # pygame reports an unwritable path with its own error
        raise UsageError(f"{path}: cannot write the screenshot ({err})") from None
    print(f"{PROG}: screenshot written to {path}", file=sys.stderr)


def _open_wav(path, gb):
    """A WavWriter for --wav PATH with the GameBoy's sound switched on, or None."""
    if path is None:
        return None
    from gbemu.audio import WavWriter

    try:
        wav = WavWriter(path)
    except OSError as err:
        raise UsageError(f"{path}: cannot write the WAV file ({err.strerror or err})") from None
    gb.audio_enabled = True
    return wav


class _StopSignals:
    """While active, SIGINT and SIGTERM ask the run loop to stop at the end of the frame
    (so the save is written on the way out) instead of interrupting it anywhere."""

    def __enter__(self):
        self.signal = 0
        self.previous = {}
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[number] = signal.signal(number, self._handle)
            except ValueError:
                pass        # not the main thread: signals keep their usual effect
        return self

    def _handle(self, number, _frame):
        self.signal = number

    def __exit__(self, *_exc):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        return False


def _load_saves(gb, args):
    """The SaveManager for this run, with the save loaded; a save that does not fit is
    reported (or, with --strict-saves, stops the run with exit status 2)."""
    from gbemu.saves import SaveError, SaveManager

    saves = SaveManager(gb, args.rom, save_dir=args.save_dir, strict=args.strict_saves)
    try:
        for warning in saves.load(time.time()):
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
    except SaveError as err:
        raise UsageError(str(err)) from None
    return saves


def _poll_saves(saves):
    """Between frames: let the SaveManager write the save when it is due."""
    from gbemu.saves import SaveError

    try:
        saves.poll(time.monotonic())
    except SaveError as err:
        print(f"{PROG}: warning: {err}", file=sys.stderr)


def _close_saves(saves) -> bool:
    """The one way out of a session: write what is unsaved; False (after saying so) if
    that failed."""
    from gbemu.saves import SaveError

    try:
        saves.close()
    except SaveError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return False
    return True


def window_settings(args) -> dict:
    """The frontend's settings: the config file, then the command-line options over it."""
    from gbemu import config

    try:
        settings = config.load(args.config, required=args.config is not None)
        overrides = {
            ("window", "scale"): args.scale,
            ("window", "fullscreen"): args.fullscreen,
            ("window", "palette"): args.palette,
            ("window", "pause_on_focus_loss"): args.pause_on_focus_loss,
            ("speed", "fast_forward"): args.fast_forward,
            ("screenshot", "directory"): args.screenshot_dir,
        }
        given = {}
        for (section, key), value in overrides.items():
            if value is not None:
                given.setdefault(section, {})[key] = value
        config.merge(settings, given, "command line")
    except config.ConfigError as err:
        raise UsageError(str(err)) from None
    return settings


def run_window(gb, args, settings) -> int:
    """Play in a window until the user quits (or --frames/--seconds have been shown)."""
    from gbemu.config import ConfigError, default_config_path
    from gbemu.machine import CLOCK_HZ, FRAME_CYCLES
    from gbemu.testrunner import compile_core

    state = _read_state(args.load_state) if args.load_state is not None else None
    # Compile (or load) the core before the window opens, not behind a blank window.
    compile_core()
    from gbemu.frontend import Frontend, WindowError
    from gbemu.saves import SaveError, SaveManager

    try:
        saves = SaveManager(gb, args.rom, save_dir=args.save_dir, strict=args.strict_saves)
        frontend = Frontend(gb, settings, rom_path=args.rom,
                            config_source=args.config or default_config_path(),
                            save_manager=saves)
    except (ConfigError, SaveError) as err:
        raise UsageError(str(err)) from None
    except WindowError as err:     # no display, no video driver: say so in one line
        raise UsageError(f"cannot open a window ({err}); use --headless") from None
    if state is not None:
        try:
            _start_from_state(gb, state, args.load_state, frontend.save_manager)
        except UsageError:
            frontend.shutdown()
            raise
    limit = None
    if args.frames is not None:
        limit = args.frames
    elif args.seconds is not None:
        limit = max(1, round(args.seconds * CLOCK_HZ / FRAME_CYCLES))
    if args.serial:
        seen = [0]

        def show_serial():
            seen[0] = _print_new_serial(gb, seen[0])
        frontend.on_frame(show_serial)
    if not args.no_sound:
        _play_sound(frontend, gb)
    return frontend.run(max_frames=limit)


def _play_sound(frontend, gb):
    """Play gb's sound while the window runs, its volume, mute and fast-forward sound
    under the window's control; without an audio device, say so and go on silently."""
    from gbemu.audio import AudioOutput, feed_every_frame

    output = AudioOutput()
    try:
        output.start()
    except Exception as err:   # pygame.error: no audio device or driver
        if type(err).__name__ != "error":
            raise
        print(f"{PROG}: warning: no sound ({err})", file=sys.stderr)
        return
    frontend.on_shutdown(output.stop)
    frontend.attach_sound(output)
    feed_every_frame(frontend, gb, output)


# -- gbemu debug ------------------------------------------------------------

def command_debug(args) -> int:
    """The debugger's prompt on a ROM (gbemu/debugger.py)."""
    gbemu = _import_emulator()
    from gbemu.cartridge import RomError, load_rom
    from gbemu.machine import SUPPORTED_MAPPERS, read_boot_rom
    from gbemu.symbols import SymbolError, SymbolTable

    try:
        load_rom(args.rom, tuple(SUPPORTED_MAPPERS))
        if args.boot_rom is not None:
            read_boot_rom(args.boot_rom)
        if args.symbols is not None:
            symbols = SymbolTable.load(args.symbols)
        else:
            symbols = SymbolTable.beside(args.rom)
    except (RomError, SymbolError) as err:
        raise UsageError(str(err)) from None
    settings = None
    if not args.headless:
        from gbemu import config
        try:
            settings = config.load(args.config, required=args.config is not None)
        except config.ConfigError as err:
            raise UsageError(str(err)) from None
    _notify_if_cold(gbemu)
    gb = gbemu.GameBoy.from_file(args.rom, boot_rom_path=args.boot_rom)
    from gbemu.debugger import Debugger, DebugWindow
    from gbemu.testrunner import compile_core

    compile_core()
    window = None
    if not args.headless:
        from gbemu.frontend import WindowError
        try:
            window = DebugWindow(gb, settings, args.rom)
        except WindowError as err:
            raise UsageError(f"cannot open a window ({err}); use --headless") from None
    if len(symbols):
        source = args.symbols or Path(args.rom).with_suffix(".sym")
        print(f"{len(symbols)} symbols from {source}", flush=True)
    debugger = Debugger(gb, symbols=symbols, window=window)
    try:
        return debugger.repl()
    finally:
        if window is not None:
            window.close()


def command_write_config() -> int:
    from gbemu import config

    try:
        path = config.write_default()
    except config.ConfigError as err:
        raise UsageError(str(err)) from None
    print(f"{PROG}: wrote {path}")
    return EXIT_OK


def _print_new_serial(gb, seen: int) -> int:
    """Print the link-port bytes sent since ``seen`` were printed; returns the new count."""
    total = gb.serial_length
    if total > seen:
        log = gb.serial_output
        fresh = log[-min(total - seen, len(log)):]
        sys.stdout.write(fresh.decode("latin-1"))
        sys.stdout.flush()
    return total


# -- gbemu test --------------------------------------------------------------

def command_test(args) -> int:
    from gbemu.testrunner import compile_core, find_roms

    for path in args.paths:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
    roms = find_roms(args.paths)
    if not roms:
        raise UsageError(f"no ROM (*.gb, *.gbc) found in {' '.join(args.paths)}")
    gbemu = _import_emulator()
    if args.boot_rom is not None:
        from gbemu.cartridge import RomError
        from gbemu.machine import read_boot_rom
        try:
            read_boot_rom(args.boot_rom)
        except RomError as err:
            raise UsageError(str(err)) from None
    if _notify_if_cold(gbemu):
        # Compile here once, so that pool workers all load it from the cache.
        compile_core()

    artifacts = args.artifacts
    if artifacts is None:
        base = Path(args.junit).resolve().parent if args.junit else Path.cwd()
        artifacts = str(base / "gbemu-test-artifacts")
    jobs = [(str(rom), args.timeout, args.boot_rom, artifacts) for rom in roms]
    verdicts = []
    started = time.perf_counter()
    for verdict in _run_all(jobs, args.jobs):
        verdicts.append(verdict)
        if not (args.quiet and verdict.passed):
            print(format_verdict(verdict), flush=True)
    wall = time.perf_counter() - started
    print(summary_line(verdicts))
    if args.junit:
        write_junit(args.junit, verdicts, wall)
    return EXIT_OK if all(v.passed for v in verdicts) else EXIT_FAILED


def _run_all(jobs, processes: int):
    """Yield one Verdict per job, in job order, from this process or a pool."""
    if processes <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield run_job(job)
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(min(processes, len(jobs)), initializer=_ignore_interrupts) as pool:
        try:
            yield from pool.imap(run_job, jobs)
        except KeyboardInterrupt:
            pool.terminate()
            raise


def _ignore_interrupts():
    """Pool workers leave Ctrl-C to the parent, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_job(job):
    """Run one (path, timeout, boot ROM, artifacts folder) job; an emulator crash
    becomes an 'error' verdict."""
    from gbemu.testrunner import Verdict, run_test_rom

    path, timeout, boot_rom, artifacts = job
    try:
        return run_test_rom(path, timeout=timeout, boot_rom_path=boot_rom,
                            artifacts_dir=artifacts)
    except Exception as err:  # a crash in one ROM must not stop the others
        return Verdict(path, "unknown", "error",
                       f"emulator crashed: {type(err).__name__}: {err}", 0.0, 0.0)


def format_verdict(verdict) -> str:
    line = f"{verdict.verdict.upper():7} {verdict.path}  ({verdict.emulated_seconds:.1f} s)"
    if verdict.detail:
        line += f"  {verdict.detail}"
    return line


def summary_line(verdicts) -> str:
    counts = {name: sum(v.verdict == name for v in verdicts)
              for name in ("pass", "fail", "timeout", "error")}
    line = f"{counts['pass']} passed, {counts['fail']} failed"
    if counts["timeout"]:
        line += f", {counts['timeout']} timed out"
    if counts["error"]:
        line += f", {counts['error']} errors"
    return line


def write_junit(path, verdicts, wall_seconds: float):
    """Write a JUnit XML report: one testcase per ROM, failures and errors with their detail."""
    suite = ET.Element("testsuite", {
        "name": PROG,
        "tests": str(len(verdicts)),
        "failures": str(sum(v.verdict in ("fail", "timeout") for v in verdicts)),
        "errors": str(sum(v.verdict == "error" for v in verdicts)),
        "skipped": "0",
        "time": f"{wall_seconds:.3f}",
    })
    for verdict in verdicts:
        case = ET.SubElement(suite, "testcase", {
            "classname": verdict.suite,
            "name": verdict.path,
            "time": f"{verdict.wall_seconds:.3f}",
        })
        properties = ET.SubElement(case, "properties")
        ET.SubElement(properties, "property", {
            "name": "emulated_seconds", "value": f"{verdict.emulated_seconds:.6f}"})
        if verdict.verdict in ("fail", "timeout"):
            failure = ET.SubElement(case, "failure", {
                "type": verdict.verdict, "message": verdict.detail or verdict.verdict})
            failure.text = verdict.detail
        elif verdict.verdict == "error":
            error = ET.SubElement(case, "error", {"type": "error", "message": verdict.detail})
            error.text = verdict.detail
    tree = ET.ElementTree(suite)
    ET.indent(tree)
    try:
        tree.write(path, encoding="utf-8", xml_declaration=True)
    except OSError as err:
        raise UsageError(f"{path}: cannot write JUnit report ({err.strerror or err})") from None


# -- shared ------------------------------------------------------------------

def _import_emulator():
    import gbemu
    return gbemu


def _notify_if_cold(gbemu) -> bool:
    """Say that the core is about to compile, when it is; returns whether it is."""
    from gbemu import _cache

    if _cache.is_cold(gbemu.CACHE_DIR):
        print(COMPILE_NOTICE, file=sys.stderr, flush=True)
        return True
    return False
