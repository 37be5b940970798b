"""Pictures of video memory for the debugger: the tile set, the tile maps, the objects.

VRAM ($8000-$9FFF) holds 384 tiles of 8x8 pixels, 16 bytes each: every row is
two bytes, the first giving bit 0 and the second bit 1 of each pixel's colour
number, leftmost pixel in bit 7. Two 32x32 tile maps follow at $9800 and $9C00.
A palette byte (BGP, OBP0, OBP1) maps colour number c to the shade in bits
2c+1..2c.

Every function returns shade indices (uint8, 0 lightest to 3 darkest), the
convention of the frame buffer, ready for gbemu.images.to_rgb and save_png.
Tiles are decoded all at once with array bit operations.
"""

from __future__ import annotations

import numpy as np

from gbemu.core import hwio

TILE_COUNT = 384
TILE_BYTES = 16
MAP_LOW = 0x9800
MAP_HIGH = 0x9C00
LCDC_WIN_MAP = 0x40
LCDC_TILES_8000 = 0x10       # tile data at $8000 (unsigned numbers); else $8800 (signed)
LCDC_BG_MAP = 0x08
LCDC_OBJ_TALL = 0x04         # 8x16 objects
OAM_ENTRIES = 40
OBJ_Y_FLIP = 0x40
OBJ_X_FLIP = 0x20
OBJ_PALETTE1 = 0x10


def palette_shades(palette: int) -> np.ndarray:
    """The shade of each colour number 0-3 under a palette byte, as a lookup array."""
    return np.array([(palette >> (2 * c)) & 3 for c in range(4)], np.uint8)


def decode_tiles(vram: np.ndarray) -> np.ndarray:
    """All 384 tiles as colour numbers, shape (384, 8, 8)."""
    vram = np.asarray(vram, np.uint8)
    if vram.size < TILE_COUNT * TILE_BYTES:
        raise ValueError(f"VRAM has {vram.size} bytes; the tiles need {TILE_COUNT * 16}")
    rows = vram[:TILE_COUNT * TILE_BYTES].reshape(TILE_COUNT, 8, 2)
    shifts = np.arange(7, -1, -1, dtype=np.uint8)          # leftmost pixel in bit 7
    low = (rows[:, :, 0, None] >> shifts) & 1
    high = (rows[:, :, 1, None] >> shifts) & 1
    return (low | (high << 1)).astype(np.uint8)


def _grid(cells: np.ndarray, per_row: int) -> np.ndarray:
    """Lay out (n, h, w) cells left to right, top to bottom, per_row to a row."""
    n, h, w = cells.shape
    return cells.reshape(n // per_row, per_row, h, w).transpose(0, 2, 1, 3).reshape(
        n // per_row * h, per_row * w)


def tiles_image(vram: np.ndarray, palette: int = 0xE4) -> np.ndarray:
    """The 384 tiles in address order, 16 to a row (128 x 192 pixels), through a palette."""
    return palette_shades(palette)[_grid(decode_tiles(vram), 16)]


def tile_index(numbers: np.ndarray, lcdc: int) -> np.ndarray:
    """Tile numbers from a map, as indices into the 384 tiles under LCDC's addressing.

    With LCDC bit 4 set, numbers 0-255 are the tiles at $8000. Clear, they are
    signed offsets from $9000: 0-127 are tiles 256-383, 128-255 are tiles 128-255.
    """
    numbers = np.asarray(numbers).astype(np.int64)
    if lcdc & LCDC_TILES_8000:
        return numbers
    return np.where(numbers < 128, numbers + 256, numbers)


def map_image(vram: np.ndarray, lcdc: int, bgp: int, map_base: int | None = None
              ) -> np.ndarray:
    """A whole 256x256 tile map as the PPU would fetch it, through BGP.

    The map is the BG map LCDC bit 3 selects, unless map_base ($9800 or $9C00)
    names one (the window's map is LCDC bit 6: see `window_map_base`). The
    image ignores scrolling and LCDC bits 0 and 7: it shows the map even when
    the LCD or the background is switched off.
    """
    if map_base is None:
        map_base = MAP_HIGH if lcdc & LCDC_BG_MAP else MAP_LOW
    if map_base not in (MAP_LOW, MAP_HIGH):
        raise ValueError(f"map base ${map_base:04X} is neither $9800 nor $9C00")
    vram = np.asarray(vram, np.uint8)
    start = map_base - hwio.VRAM_START
    numbers = vram[start:start + 32 * 32]
    if numbers.size < 32 * 32:
        raise ValueError(f"VRAM has {vram.size} bytes; the map at ${map_base:04X} is beyond")
    tiles = decode_tiles(vram)[tile_index(numbers, lcdc)]
    return palette_shades(bgp)[_grid(tiles, 32)]


def window_map_base(lcdc: int) -> int:
    """The window's tile map address, chosen by LCDC bit 6."""
    return MAP_HIGH if lcdc & LCDC_WIN_MAP else MAP_LOW


def oam_image(vram: np.ndarray, oam: np.ndarray, lcdc: int, obp0: int, obp1: int,
              gap_shade: int = 2) -> np.ndarray:
    """The 40 objects in OAM order, 8 to a row, each drawn as the PPU would.

    Cells are 8x8, or 8x16 when LCDC bit 2 is set (the tile number's bit 0 is
    then ignored: the top half is tile & $FE, the bottom half the next tile).
    Objects always use the $8000 tiles. X and Y flips are applied (a flipped
    8x16 object swaps its halves) and each object's palette (OBP0 or OBP1 by
    attribute bit 4) maps its colours. Colour 0 is transparent on screen; here
    it is drawn as shade 0, so the object appears on a blank screen. Cells are
    separated by 1-pixel lines of `gap_shade` (71 pixels wide, 44 or 84 high).
    """
    entries = np.asarray(oam, np.uint8)[:OAM_ENTRIES * 4].reshape(OAM_ENTRIES, 4)
    tiles = decode_tiles(vram)
    numbers = entries[:, 2].astype(np.int64)
    if lcdc & LCDC_OBJ_TALL:
        pixels = np.concatenate((tiles[numbers & 0xFE], tiles[numbers | 1]), axis=1)
    else:
        pixels = tiles[numbers]

    attrs = entries[:, 3, None, None]
    pixels = np.where(attrs & OBJ_Y_FLIP, pixels[:, ::-1, :], pixels)
    pixels = np.where(attrs & OBJ_X_FLIP, pixels[:, :, ::-1], pixels)

    palettes = np.stack((palette_shades(obp0), palette_shades(obp1)))
    which = (attrs & OBJ_PALETTE1) >> 4
    shades = np.where(pixels == 0, 0, palettes[which, pixels]).astype(np.uint8)

    # Pad each cell with a gap line on its right and bottom, then drop the outer ones.
    height = shades.shape[1]
    cells = np.full((OAM_ENTRIES, height + 1, 9), gap_shade & 3, np.uint8)
    cells[:, :height, :8] = shades
    return _grid(cells, 8)[:-1, :-1]
