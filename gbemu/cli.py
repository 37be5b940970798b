"""The ``gbemu`` command line: run a ROM, or run test ROMs and report verdicts.

    gbemu ROM                       play ROM (same as ``gbemu run ROM``)
    gbemu run ROM --headless [--frames N | --seconds S] [--serial] [--boot-rom PATH]
    gbemu test ROM|DIR... [--jobs N] [--timeout S] [--junit PATH] [--quiet] [--boot-rom PATH]

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
SUBCOMMANDS = ("run", "test")
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
TEST_TIMEOUT = 120.0
DEMO_ROM = Path(__file__).resolve().parent.parent / "assets" / "demo.gb"
COMPILE_NOTICE = f"{PROG}: compiling the emulator core (first run only, about 20-30 s)..."


class UsageError(Exception):
    """A command line that cannot be carried out; the message is printed as-is."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A Game Boy (DMG) emulator. 'gbemu ROM' plays ROM.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="{run,test}")

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
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number: {text}")
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
        if not argv:
            if not DEMO_ROM.is_file():
                print(f"{PROG}: no ROM given (and no demo ROM at {DEMO_ROM})", file=sys.stderr)
                parser.print_usage(sys.stderr)
                return EXIT_USAGE
            argv = ["run", str(DEMO_ROM)]
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
        if args.command is None:
            parser.print_usage(sys.stderr)
            return EXIT_USAGE
        if args.command == "test":
            return command_test(args)
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
    if not args.headless:
        print(f"{PROG}: the window frontend is not built yet; running headless "
              "(Ctrl-C to stop)", file=sys.stderr)
    if args.frames is not None:
        stop_at = gb.clock + args.frames * FRAME_CYCLES
    elif args.seconds is not None:
        stop_at = gb.clock + int(args.seconds * CLOCK_HZ)
    else:
        stop_at = None

    serial_seen = 0
    reported_lockup = False
    while stop_at is None or gb.clock < stop_at:
        target = gb.clock + FRAME_CYCLES
        if stop_at is not None:
            target = min(target, stop_at)
        events = gb.run_until(target)
        if args.serial:
            serial_seen = _print_new_serial(gb, serial_seen)
        if events & hwio.EV_ILLEGAL and not reported_lockup:
            reported_lockup = True
            print(f"{PROG}: the CPU locked up on an unused opcode "
                  f"(PC=${gb.registers['PC']:04X})", file=sys.stderr)
    if args.serial and serial_seen and not gb.serial_output.endswith(b"\n"):
        print()
    return EXIT_OK


def _print_new_serial(gb, seen: int) -> int:
    """Print the link-port bytes sent since ``seen`` were printed; returns the new count."""
    total = int(gb.state[0]["serial_len"])
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
