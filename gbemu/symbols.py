"""Symbol files: names for addresses, as assemblers write them beside a ROM.

A symbol names a (bank, address) pair. Three layouts are read, one label a line:

    RGBDS (rgblink -n)     00:0150 Main            hex bank, colon, hex address, name
    no$gmb                 0000:0150 Main          the bank may have up to four digits
    WLA-DX (wlalink -S)    the same lines under a [labels] section header; the file's
                           other sections ([information], [definitions], [sections] ...)
                           hold sizes and section lists, not labels, and are skipped

A `;` starts a comment that runs to the end of the line. Lines before any
`[section]` header are labels, so RGBDS and no$gmb files need no header; after a
header, only the lines under `[labels]` are. A label line that does not read
`BANK:ADDR NAME` is an error naming the file and line.

Banks tell labels apart only where the Game Boy switches banks: switchable ROM
($4000-$7FFF), cartridge RAM ($A000-$BFFF) and switchable WRAM ($D000-$DFFF).
Elsewhere the bank is ignored, because assemblers disagree there (RGBDS writes
bank 0 for HRAM, WLA-DX writes bank 1). A bank-0 label in $4000-$7FFF or
$D000-$DFFF comes from a build that does not bank that window (rgblink -t or -w,
which put all code in bank 0), so it matches whatever bank is mapped.

Nothing here prints; problems come back as SymbolError("FILE:LINE: problem").
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

__all__ = ["Symbol", "SymbolError", "SymbolTable", "SYM_SUFFIX", "MAX_OFFSET"]

SYM_SUFFIX = ".sym"
MAX_OFFSET = 0x1000     # describe() names an address at most this far past a label

# Memory regions (first, last, banked): describe() never reaches across a boundary.
REGIONS = (
    (0x0000, 0x3FFF, False),    # ROM bank 0
    (0x4000, 0x7FFF, True),     # switchable ROM bank
    (0x8000, 0x9FFF, False),    # VRAM
    (0xA000, 0xBFFF, True),     # cartridge RAM bank
    (0xC000, 0xCFFF, False),    # WRAM bank 0
    (0xD000, 0xDFFF, True),     # switchable WRAM bank
    (0xE000, 0xFDFF, False),    # echo RAM
    (0xFE00, 0xFE9F, False),    # OAM
    (0xFEA0, 0xFEFF, False),    # unusable
    (0xFF00, 0xFF7F, False),    # I/O registers
    (0xFF80, 0xFFFE, False),    # HRAM
    (0xFFFF, 0xFFFF, False),    # IE
)
_REGION_STARTS = [first for first, _, _ in REGIONS]
_BANK_0_MATCHES_ANY = (0x4000, 0xD000)      # region starts where bank 0 means "unbanked"

_LABEL_LINE = re.compile(r"([0-9A-Fa-f]{1,4}):([0-9A-Fa-f]{1,4})\s+(\S+)")
_SECTION_LINE = re.compile(r"\[([^\]]*)\]")


class SymbolError(Exception):
    """A symbol file that cannot be read; the message reads "FILE:LINE: problem"."""


@dataclass(frozen=True)
class Symbol:
    """One label: its name, the bank it lives in and its CPU address."""

    name: str
    bank: int
    addr: int

    def __str__(self) -> str:
        return f"{self.bank:02X}:{self.addr:04X} {self.name}"


def region_of(addr: int) -> int:
    """Index into REGIONS of the region holding a CPU address ($0000-$FFFF)."""
    return bisect.bisect_right(_REGION_STARTS, addr) - 1


def _index_keys(sym: Symbol) -> tuple:
    """The (region, bank) key a symbol is filed under; bank None matches any bank."""
    region = region_of(sym.addr)
    first, _, banked = REGIONS[region]
    if not banked or (sym.bank == 0 and first in _BANK_0_MATCHES_ANY):
        return (region, None)
    return (region, sym.bank)


class SymbolTable:
    """Labels by name and by address, for a debugger's input and output."""

    def __init__(self, symbols: Iterable[Symbol] = ()):
        self._symbols: list[Symbol] = []
        self._by_name: dict[str, list[Symbol]] = {}
        self._by_folded: dict[str, list[str]] = {}      # casefolded name -> distinct names
        self._by_place: dict[tuple, list[tuple[int, int, Symbol]]] = {}
        self._place_sorted = True
        for sym in symbols:
            self.add(sym)

    def add(self, sym: Symbol) -> None:
        """Add one label; an equal label (same name, bank and address) is kept once."""
        same_name = self._by_name.setdefault(sym.name, [])
        if sym in same_name:
            return
        if not same_name:
            self._by_folded.setdefault(sym.name.casefold(), []).append(sym.name)
        same_name.append(sym)
        order = len(self._symbols)
        self._symbols.append(sym)
        self._by_place.setdefault(_index_keys(sym), []).append((sym.addr, order, sym))
        self._place_sorted = False

    @classmethod
    def load(cls, path) -> "SymbolTable":
        """Read an RGBDS, no$gmb or WLA-DX symbol file; SymbolError on a bad line."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            raise SymbolError(f"{path}: cannot read: {err.strerror or err}") from None
        table = cls()
        in_labels = True
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split(";", 1)[0].strip()
            if not line:
                continue
            section = _SECTION_LINE.fullmatch(line)
            if section:
                in_labels = section.group(1).strip().lower() == "labels"
                continue
            if not in_labels:
                continue
            match = _LABEL_LINE.fullmatch(line)
            if not match:
                raise SymbolError(f"{path}:{number}: expected 'BANK:ADDRESS NAME' "
                                  f"with hex bank and address, got {line[:60]!r}")
            bank, addr, name = match.groups()
            table.add(Symbol(name, int(bank, 16), int(addr, 16)))
        return table

    @classmethod
    def beside(cls, rom_path) -> "SymbolTable":
        """The symbols in the ROM's .sym file (same name, suffix .sym), else none."""
        sym_path = Path(rom_path).with_suffix(SYM_SUFFIX)
        return cls.load(sym_path) if sym_path.is_file() else cls()

    def __len__(self) -> int:
        return len(self._symbols)

    def __iter__(self) -> Iterator[Symbol]:
        return iter(self._symbols)

    def resolve(self, name: str, bank: int | None = None) -> Symbol | None:
        """The label with this name (exact case first, else the one name that matches
        ignoring case); the first loaded, or the one in `bank` when a bank is given."""
        candidates = self._by_name.get(name)
        if candidates is None:
            folded = self._by_folded.get(name.casefold(), [])
            if len(folded) != 1:
                return None
            candidates = self._by_name[folded[0]]
        if bank is None:
            return candidates[0]
        return next((sym for sym in candidates if sym.bank == bank), None)

    def _nearest(self, addr: int, bank: int) -> list[tuple[int, int, Symbol]]:
        """From each index list that may hold labels for (addr, bank): the entries at
        its highest address <= addr, in load order."""
        if not self._place_sorted:
            for entries in self._by_place.values():
                entries.sort(key=lambda entry: entry[:2])
            self._place_sorted = True
        region = region_of(addr)
        found = []
        for key in {(region, None), (region, bank)}:
            entries = self._by_place.get(key, [])
            i = bisect.bisect_right(entries, addr, key=lambda entry: entry[0])
            if i:
                top = entries[i - 1][0]
                found += entries[bisect.bisect_left(entries, top, key=lambda e: e[0]):i]
        return found

    def at(self, addr: int, bank: int) -> list[Symbol]:
        """The labels exactly at addr, for the bank mapped there, in load order."""
        if not 0 <= addr <= 0xFFFF:
            return []
        return [sym for a, _, sym in sorted(self._nearest(addr, bank), key=lambda e: e[1])
                if a == addr]

    def describe(self, addr: int, bank: int) -> str:
        """The name for addr, "label" or "label+$1A": the nearest label at or before
        it in the same memory region and bank, at most $FFF bytes before; else ""."""
        if not 0 <= addr <= 0xFFFF:
            return ""
        found = self._nearest(addr, bank)
        if not found:
            return ""
        label_addr, _, sym = max(found, key=lambda e: (e[0], -e[1]))
        offset = addr - label_addr
        if offset >= MAX_OFFSET:
            return ""
        return sym.name if offset == 0 else f"{sym.name}+${offset:X}"

    def complete(self, prefix: str) -> list[str]:
        """Sorted names that start with prefix (ignoring case when none match exactly)."""
        names = [name for name in self._by_name if name.startswith(prefix)]
        if not names:
            folded = prefix.casefold()
            names = [name for name in self._by_name if name.casefold().startswith(folded)]
        return sorted(names)
