"""VRAM pictures for the debugger: tiles decoded from their 2bpp bytes, tile maps under
LCDC's addressing and map select, objects with their flips, sizes and palettes.

Expected pixels are worked out by hand from the tile format (per row, byte 0
gives colour bit 0 and byte 1 colour bit 1, leftmost pixel in bit 7).
"""

from __future__ import annotations

import numpy as np
import pytest

from gbemu.images import to_rgb
from gbemu.vramview import map_image, oam_image, tiles_image, window_map_base

# A tile whose rows cover every colour pair, with its pixels worked out by hand.
TILE_BYTES = bytes((0xFF, 0x00,    # all colour 1
                    0x00, 0xFF,    # all colour 2
                    0xFF, 0xFF,    # all colour 3
                    0x00, 0x00,    # all colour 0
                    0x80, 0x01,    # 1 at the left, 2 at the right
                    0xF0, 0x3C,    # 11110000 / 00111100
                    0xAA, 0x55,    # 10101010 / 01010101
                    0x0F, 0x0F))
TILE_PIXELS = np.array([
    [1, 1, 1, 1, 1, 1, 1, 1],
    [2, 2, 2, 2, 2, 2, 2, 2],
    [3, 3, 3, 3, 3, 3, 3, 3],
    [0, 0, 0, 0, 0, 0, 0, 0],
    [1, 0, 0, 0, 0, 0, 0, 2],
    [1, 1, 3, 3, 2, 2, 0, 0],
    [1, 2, 1, 2, 1, 2, 1, 2],
    [0, 0, 0, 0, 3, 3, 3, 3],
])


def put_tile(vram, index, data):
    vram[index * 16:index * 16 + 16] = np.frombuffer(bytes(data), np.uint8)


def solid(colour):
    """A tile of one colour number."""
    return bytes((0xFF if colour & 1 else 0, 0xFF if colour & 2 else 0)) * 8


def test_tiles_image_decodes_2bpp():
    vram = np.zeros(0x2000, np.uint8)
    put_tile(vram, 17, TILE_BYTES)          # grid row 1, column 1
    image = tiles_image(vram)
    assert image.shape == (192, 128) and image.dtype == np.uint8
    assert np.array_equal(image[8:16, 8:16], TILE_PIXELS)
    image[8:16, 8:16] = 0
    assert not image.any()


def test_tiles_image_applies_the_palette_and_places_the_last_tile():
    vram = np.zeros(0x2000, np.uint8)
    put_tile(vram, 383, TILE_BYTES)         # last row, last column
    image = tiles_image(vram, palette=0x1B)  # colour c -> shade 3 - c
    assert np.array_equal(image[184:192, 120:128], 3 - TILE_PIXELS)
    assert (image[:184] == 3).all()
    image = tiles_image(vram, palette=0x00)
    assert not image.any()


def signed_vram():
    """Tile 0 colour 1, tile 128 colour 2, tile 256 colour 3, tile 383 the test tile."""
    vram = np.zeros(0x2000, np.uint8)
    put_tile(vram, 0, solid(1))
    put_tile(vram, 128, solid(2))
    put_tile(vram, 256, solid(3))
    put_tile(vram, 383, TILE_BYTES)
    vram[0x1800:0x1803] = (0x00, 0x80, 0x7F)   # $9800 map, row 0: numbers 0, $80, $7F
    return vram


def test_map_image_signed_addressing():
    image = map_image(signed_vram(), lcdc=0x81, bgp=0xE4)   # tiles at $8800, signed
    assert image.shape == (256, 256)
    assert (image[0:8, 0:8] == 3).all()       # number 0 -> $9000 (tile 256)
    assert (image[0:8, 8:16] == 2).all()      # number $80 -> $8800 (tile 128)
    assert np.array_equal(image[0:8, 16:24], TILE_PIXELS)   # $7F -> $97F0 (tile 383)
    assert (image[8:, :] == 3).all()          # the rest of the map: number 0 -> tile 256


def test_map_image_unsigned_addressing():
    image = map_image(signed_vram(), lcdc=0x91, bgp=0xE4)   # tiles at $8000
    assert (image[0:8, 0:8] == 1).all()       # number 0 -> tile 0
    assert (image[0:8, 8:16] == 2).all()      # number $80 -> tile 128
    assert (image[0:8, 16:24] == 0).all()     # number $7F -> tile 127 (empty)
    assert (image[8:, :] == 1).all()


def test_map_image_map_select_and_override():
    vram = np.zeros(0x2000, np.uint8)
    put_tile(vram, 5, TILE_BYTES)
    vram[0x1C00 + 32 * 3 + 4] = 5       # $9C00 map, row 3, column 4
    bg_high = map_image(vram, lcdc=0x98, bgp=0xE4)
    assert np.array_equal(bg_high[24:32, 32:40], TILE_PIXELS)
    assert not map_image(vram, lcdc=0x90, bgp=0xE4).any()
    chosen = map_image(vram, lcdc=0x90, bgp=0xE4, map_base=0x9C00)
    assert np.array_equal(chosen, bg_high)
    assert window_map_base(0x40) == 0x9C00 and window_map_base(0xBF) == 0x9800
    with pytest.raises(ValueError):
        map_image(vram, lcdc=0x90, bgp=0xE4, map_base=0x9000)


def corner_tiles(vram):
    """Tile 2: one colour-3 pixel in the top-left corner; tile 3: colour 1 bottom-left."""
    put_tile(vram, 2, bytes((0x80, 0x80)) + bytes(14))
    put_tile(vram, 3, bytes(14) + bytes((0x80, 0x00)))


def test_oam_image_flips():
    vram = np.zeros(0x2000, np.uint8)
    corner_tiles(vram)
    oam = np.zeros(160, np.uint8)
    for i, attr in enumerate((0x00, 0x20, 0x40, 0x60)):  # none, X, Y, both
        oam[i * 4:i * 4 + 4] = (16, 8, 2, attr)
    image = oam_image(vram, oam, lcdc=0x80, obp0=0xE4, obp1=0xE4, gap_shade=1)
    assert image.shape == (5 * 9 - 1, 8 * 9 - 1)
    cells = [image[0:8, 9 * i:9 * i + 8] for i in range(4)]
    for cell, (y, x) in zip(cells, [(0, 0), (0, 7), (7, 0), (7, 7)]):
        expected = np.zeros((8, 8), np.uint8)
        expected[y, x] = 3
        assert np.array_equal(cell, expected)
    assert (image[8, :] == 1).all() and (image[:, 8] == 1).all()   # the gap lines


def test_oam_image_tall_objects_and_palettes():
    vram = np.zeros(0x2000, np.uint8)
    corner_tiles(vram)
    oam = np.zeros(160, np.uint8)
    oam[0:4] = (16, 8, 3, 0x00)          # bit 0 of the number ignored: tiles 2 then 3
    oam[4:8] = (16, 8, 2, 0x50)          # Y flip over 16 rows, palette OBP1
    image = oam_image(vram, oam, lcdc=0x84, obp0=0xE4, obp1=0x27, gap_shade=2)
    assert image.shape == (5 * 17 - 1, 8 * 9 - 1)
    first, second = image[0:16, 0:8], image[0:16, 9:17]
    assert first[0, 0] == 3 and first[15, 0] == 1
    assert np.count_nonzero(first) == 2
    # Flipped: tile 3's colour-1 pixel moves to row 0, tile 2's colour-3 pixel to row 15.
    # OBP1 $27 maps colour 1 -> 1, colour 3 -> 0; colour 0 -> 3 but is drawn as shade 0.
    assert second[0, 0] == 1 and second[15, 0] == 0
    assert np.count_nonzero(second) == 1
    assert (image[16, :] == 2).all()


def test_images_feed_to_rgb():
    vram = np.zeros(0x2000, np.uint8)
    put_tile(vram, 0, TILE_BYTES)
    rgb = to_rgb(tiles_image(vram))
    assert rgb.shape == (192, 128, 3) and tuple(rgb[2, 0]) == (0, 0, 0)
