#!/usr/bin/env python3
"""Turn tests/expectations.toml into the README's accuracy table.

The expectations file holds one TOML table per test suite, mapping a ROM path to the
verdict the test suite expects for it::

    [blargg]
    timeout = 60                              # not a string: ignored here
    "cpu_instrs/cpu_instrs.gb" = "pass"
    "halt_bug.gb" = "fail"

A ROM counts as passing when its verdict is "pass"; any other string ("fail",
"timeout", "crash", ...) counts as not passing. Values that are not strings (numbers,
booleans, sub-tables) are settings, not ROMs, and are left out.

    python tools/accuracy_table.py            # print the Markdown table
    python tools/accuracy_table.py --write    # rewrite the README between the markers
    python tools/accuracy_table.py --check    # exit 1 if the README is out of date
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXPECTATIONS = REPO_ROOT / "tests" / "expectations.toml"
DEFAULT_README = REPO_ROOT / "README.md"
START = "<!-- accuracy:start -->"
END = "<!-- accuracy:end -->"
PASS = "pass"


def load_suites(path: Path) -> dict[str, dict[str, str]]:
    """{suite: {rom_path: verdict}}, keeping the file's order and only string verdicts."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    suites = {}
    for suite, table in data.items():
        if not isinstance(table, dict):
            continue  # a top-level setting, not a suite
        verdicts = {}
        for rom, verdict in table.items():
            if isinstance(verdict, str):
                verdicts[rom] = verdict.strip().lower()
            elif isinstance(verdict, dict):
                print(f"{path}: [{suite}] {rom!r} is a sub-table and was ignored "
                      "(quote ROM paths that contain dots)", file=sys.stderr)
        suites[suite] = verdicts
    return suites


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(suites: dict[str, dict[str, str]], source: str) -> str:
    """Markdown: a table of suite and passing/total, then the ROMs not passing per suite.

    The lists follow the table, one ROM a line, rather than sitting in a table cell, so
    that no line of the README grows without bound.
    """
    if not suites:
        return f"_No expectations recorded yet ({source} is missing or empty)._"
    table = ["| Suite | Passing |", "|---|---|"]
    lists = []
    all_passing = all_total = 0
    for suite, verdicts in suites.items():
        passing = sum(1 for verdict in verdicts.values() if verdict == PASS)
        total = len(verdicts)
        all_passing += passing
        all_total += total
        table.append(f"| {cell(suite)} | {passing}/{total} |")
        failing = [(rom, verdict) for rom, verdict in verdicts.items() if verdict != PASS]
        if failing:
            lists += ["", f"Not passing in {suite}:", ""]
            lists += [f"- `{rom}` ({verdict})" for rom, verdict in failing]
    table.append(f"| **all** | **{all_passing}/{all_total}** |")
    if not lists:
        lists = ["", "Every ROM passes."]
    return "\n".join(table + lists)


def replace_section(readme: str, table: str) -> str:
    start = readme.find(START)
    end = readme.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"the README needs the markers {START} and {END}, in that order")
    return readme[: start + len(START)] + "\n" + table + "\n" + readme[end:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expectations", type=Path, default=DEFAULT_EXPECTATIONS,
                        help="the expectations file (default: tests/expectations.toml)")
    parser.add_argument("--readme", type=Path, default=DEFAULT_README,
                        help="the README holding the markers (default: README.md)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true",
                        help=f"rewrite the README between {START} and {END}")
    action.add_argument("--check", action="store_true",
                        help="exit 1 if the README's table differs from the generated one")
    args = parser.parse_args(argv)

    try:
        source = args.expectations.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        source = str(args.expectations)
    if args.expectations.is_file():
        try:
            suites = load_suites(args.expectations)
        except tomllib.TOMLDecodeError as err:
            print(f"{args.expectations}: {err}", file=sys.stderr)
            return 2
    else:
        print(f"{args.expectations} not found", file=sys.stderr)
        suites = {}
    table = render(suites, source)

    if not (args.write or args.check):
        print(table)
        return 0
    readme = args.readme.read_text(encoding="utf-8")
    try:
        updated = replace_section(readme, table)
    except ValueError as err:
        print(f"{args.readme}: {err}", file=sys.stderr)
        return 2
    if args.check:
        if updated != readme:
            print(f"{args.readme} is out of date: run python tools/accuracy_table.py --write",
                  file=sys.stderr)
            return 1
        return 0
    if updated != readme:
        args.readme.write_text(updated, encoding="utf-8")
        print(f"updated {args.readme}")
    else:
        print(f"{args.readme} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
