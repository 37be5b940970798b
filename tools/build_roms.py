"""Build gbemu's own ROMs from their sources with gbemu's assembler (gbemu/asm.py).

    python tools/build_roms.py            assemble every source, write the .gb beside it
    python tools/build_roms.py --check    assemble in memory; exit 1 if a committed .gb differs

Sources: gbemu/assets/demo.asm (the demo `gbemu` plays with no ROM; it lives in the package
so that it installs with it) and roms_test/*.asm (our own test ROMs). The build is
reproducible: the same source always gives the same bytes (no dates, no paths inside).
A test ROM checked by its picture also gets NAME-dmg.png, its correct final screen as
tools/reference_screens.py draws it (compared by pixels, so the PNG encoder's version
does not matter).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from gbemu.asm import AsmError, assemble_file  # noqa: E402
from gbemu.images import GREY, load_png, save_png, to_rgb  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "tools"))
import reference_screens  # noqa: E402

SOURCE_DIRS = (REPO_ROOT / "gbemu" / "assets", REPO_ROOT / "roms_test")


def sources() -> list[Path]:
    """Every ROM source: the .asm files of the source folders (included files are .inc)."""
    found = []
    for folder in SOURCE_DIRS:
        found.extend(sorted(folder.glob("*.asm")))
    return found


def target(source: Path) -> Path:
    return source.with_suffix(".gb")


def build(source: Path) -> bytes:
    return assemble_file(source)


def reference_target(source: Path) -> Path | None:
    """Where the ROM's reference picture goes, when it is checked by its picture."""
    if source.stem not in reference_screens.SCREENS:
        return None
    return source.with_name(f"{source.stem}-dmg.png")


def reference_picture(source: Path) -> np.ndarray:
    """The correct final screen of the ROM built from ``source``, as RGB."""
    return to_rgb(reference_screens.SCREENS[source.stem](), GREY)


def reference_is_current(source: Path) -> bool:
    path = reference_target(source)
    if path is None:
        return True
    return path.is_file() and np.array_equal(load_png(path), reference_picture(source))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed ROMs instead of writing them")
    args = parser.parse_args(argv)
    stale = []
    for source in sources():
        try:
            image = build(source)
        except AsmError as err:
            print(f"build_roms: {err}", file=sys.stderr)
            return 2
        out = target(source)
        name = out.relative_to(REPO_ROOT)
        picture = reference_target(source)
        if args.check:
            if not out.is_file() or out.read_bytes() != image:
                stale.append(name)
            if not reference_is_current(source):
                stale.append(picture.relative_to(REPO_ROOT))
            continue
        if out.is_file() and out.read_bytes() == image:
            print(f"unchanged {name}")
        else:
            out.write_bytes(image)
            print(f"wrote     {name} ({len(image)} bytes)")
        if picture is not None and not reference_is_current(source):
            save_png(picture, reference_picture(source))
            print(f"wrote     {picture.relative_to(REPO_ROOT)}")
    if stale:
        print("out of date (run python tools/build_roms.py): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
