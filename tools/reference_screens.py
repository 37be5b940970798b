"""The correct final screens of gbemu's own picture-checked test ROMs, from the hardware
rules (Pan Docs), not from the emulator.

Each function returns the (144, 160) shade indices the ROM of the same name in roms_test/
leaves on the screen; tools/build_roms.py writes them as NAME-dmg.png beside NAME.gb,
which is where `gbemu test` looks for a reference picture.
"""

from __future__ import annotations

import numpy as np

HEIGHT, WIDTH = 144, 160
WX_OFFSET = 7                 # WX = 7 puts the window's left edge at x = 0
WX_OFF_SCREEN = 167           # from here on the window is not drawn


def window() -> np.ndarray:
    """roms_test/window.asm: the window's line counter over one frame of register changes.

    Rules: the window is drawn on a line when it is enabled (LCDC bit 5), LY has equalled
    WY earlier in the frame (a latch that later WY writes do not undo) and WX < 167; it
    starts at x = WX - 7; its internal line counter gives the window row and advances
    only on lines where the window was drawn. The ROM's window tiles show, on window row
    w, a dot at column w mod 8 of every tile in shade 1 + (w // 8) mod 3; the background
    is white.
    """
    # Registers from a line on (each change is written in the HBlank of the line before).
    changes = {0: dict(enabled=True, wx=27, wy=16), 40: dict(enabled=False),
               56: dict(enabled=True), 80: dict(wx=167), 96: dict(wx=47), 112: dict(wy=255),
               128: dict(wx=7)}
    registers = {}
    screen = np.zeros((HEIGHT, WIDTH), np.uint8)
    wy_matched = False
    counter = 0
    for line in range(HEIGHT):
        registers.update(changes.get(line, {}))
        if line == registers["wy"]:
            wy_matched = True
        if not (registers["enabled"] and wy_matched and registers["wx"] < WX_OFF_SCREEN):
            continue
        left = registers["wx"] - WX_OFFSET
        for x in range(max(left, 0), WIDTH):
            if (x - left) % 8 == counter % 8:
                screen[line, x] = 1 + (counter // 8) % 3
        counter += 1
    return screen


# roms_test/sprites.asm's tiles (2-bit colours, 8 rows of 8) and scene, in screen pixels.
_CORNER = ["33322100", "33221000", "32210000", "22100000", "21000000", "10000000",
           "00000000", "00000000"]
_SOLID = {2: "1", 3: "2", 4: "3", 5: "1", 6: "2", 7: "2"}
SPRITE_TILES = {0: ["00000000"] * 8, 1: _CORNER}
SPRITE_TILES.update({tile: [colour * 8] * 8 for tile, colour in _SOLID.items()})
BEHIND_BG, FLIP_Y, FLIP_X, USE_OBP1 = 0x80, 0x40, 0x20, 0x10
OBP0, OBP1 = 0b11100100, 0b00011011
SPRITE_SCENE = (
    [(8, 0 - 8, 4, 0)] + [(8, x, 4, 0) for x in range(4, 125, 12)]
    + [(24, 40, 4, 0), (24, 36, 5, 0), (24, 80, 6, 0), (24, 80, 4, 0)]
    + [(40, 16, 1, 0), (40, 32, 1, FLIP_X), (40, 48, 1, FLIP_Y),
       (40, 64, 1, FLIP_X | FLIP_Y), (40, 80, 1, USE_OBP1)]
    + [(56, 76, 4, BEHIND_BG), (56, 100, 5, 0)]
    + [(80, 24, 3, 0), (80, 48, 2, FLIP_Y)]
)
TALL_FROM_LINE = 72
OBJS_PER_LINE = 10


def _sprite_background(line: int, x: int) -> int:
    """The background colour (BGP is the identity): tile 7 on map row 7, columns 10-19."""
    return 2 if line // 8 == 7 and 10 <= x // 8 < 20 else 0


def sprites() -> np.ndarray:
    """roms_test/sprites.asm: object selection, priority, flips, palettes and 8x16.

    Rules: on each line the first 10 objects in OAM order whose rows cover the line are
    picked, whatever their X. A pixel takes, among the picked objects covering it whose
    colour there is not 0, the one with the smallest X, then the first in OAM. That
    pixel shows in its palette (OBP1 with attribute bit 4) unless attribute bit 7 is set
    and the background colour there is not 0. Bits 5 and 6 flip the tile; 8x16 objects
    (LCDC bit 2, from line 72) use tile & $FE on top and tile | 1 below, swapped with a
    Y flip.
    """
    screen = np.zeros((HEIGHT, WIDTH), np.uint8)
    for line in range(HEIGHT):
        height = 16 if line >= TALL_FROM_LINE else 8
        picked = [(index, obj) for index, obj in enumerate(SPRITE_SCENE)
                  if obj[0] <= line < obj[0] + height][:OBJS_PER_LINE]
        for x in range(WIDTH):
            background = _sprite_background(line, x)
            screen[line, x] = background
            best = None
            for index, (top, left, tile, attrs) in picked:
                if not left <= x < left + 8:
                    continue
                row, column = line - top, x - left
                if attrs & FLIP_Y:
                    row = height - 1 - row
                if attrs & FLIP_X:
                    column = 7 - column
                if height == 16:
                    tile = (tile & 0xFE) | (row >> 3)
                colour = int(SPRITE_TILES[tile][row & 7][column])
                if colour and (best is None or (left, index) < best[0]):
                    best = ((left, index), colour, attrs)
            if best is None:
                continue
            _key, colour, attrs = best
            if attrs & BEHIND_BG and background:
                continue
            palette = OBP1 if attrs & USE_OBP1 else OBP0
            screen[line, x] = (palette >> (2 * colour)) & 3
    return screen


SCREENS = {"window": window, "sprites": sprites}
