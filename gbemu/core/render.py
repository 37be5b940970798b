"""Drawing one line of pixels, and how long drawing it takes (mode 3).

The PPU calls ``scan_objects`` at the end of the OAM scan, which picks up to
ten objects on the line and from them, the scroll and the window, computes
the length of mode 3. At the end of mode 3 it calls ``draw_line``, which writes
the line's shade indices (palettes applied) into the frame buffer ``fb``.

Lines are drawn whole, with the registers as they are when mode 3 ends; a write
in the middle of mode 3 takes effect for the whole line rather than from the
pixel it reaches. Objects are drawn in DMG priority: the smaller X wins, then
the lower OAM index; the winning object pixel is then hidden behind BG colours
1-3 when its priority bit asks for it.
"""

import numpy as np
from numba import njit

from gbemu.core.hwio import (  # io-field offsets
    R_BGP, R_LCDC, R_OBP0, R_OBP1, R_SCX, R_SCY, R_WX,
)


# LCDC bits
BG_WINDOW_ENABLE = 0x01
OBJ_ENABLE = 0x02
OBJ_TALL = 0x04
BG_MAP_HIGH = 0x08
TILES_UNSIGNED = 0x10
WINDOW_ENABLE = 0x20
WINDOW_MAP_HIGH = 0x40

# Object attribute bits
ATTR_BEHIND_BG = 0x80
ATTR_Y_FLIP = 0x40
ATTR_X_FLIP = 0x20
ATTR_PALETTE1 = 0x10

OBJS_PER_LINE = 10
WIDTH = 160
MODE3_BASE_DOTS = 172
WINDOW_START_DOTS = 6
OBJ_FETCH_DOTS = 6
OBJ_X_OFFSCREEN_RIGHT = 168   # objects from here on are never fetched
OFFSCREEN_TILE = -2           # the tile an object at X=0 is fetched in


@njit
def window_shows(s, line):
    """The window is drawn on this line (WY matched earlier in the frame, WX on screen)."""
    lcdc = np.int64(s.io[R_LCDC])
    return (lcdc & WINDOW_ENABLE != 0 and lcdc & BG_WINDOW_ENABLE != 0
            and s.window_seen_wy != 0 and np.int64(s.io[R_WX]) <= 166)


@njit
def scan_objects(s, line):
    """OAM scan: choose the line's objects; return the length of mode 3 in dots.

    Mode 3 lasts 172 dots, plus the SCX fine-scroll discard, plus 6 when the
    window starts, plus for each object 6 dots and, for the first object over
    a given background tile, 5 minus the object's offset into that tile
    (Pan Docs, "Mode 3 length"). Objects at X=0 share a tile of their own;
    objects at X>=168 cost nothing.
    """
    lcdc = np.int64(s.io[R_LCDC])
    height = 16 if lcdc & OBJ_TALL else 8
    count = 0
    for index in range(40):
        top = np.int64(s.oam[4 * index]) - 16
        if top <= line < top + height:
            # Insert in priority order: smaller X first, then lower OAM index.
            x = np.int64(s.oam[4 * index + 1])
            slot = count
            while slot > 0 and np.int64(s.oam[4 * np.int64(s.line_objs[slot - 1]) + 1]) > x:
                s.line_objs[slot] = s.line_objs[slot - 1]
                slot -= 1
            s.line_objs[slot] = index
            count += 1
            if count == OBJS_PER_LINE:
                break
    s.line_obj_count = count

    scx = np.int64(s.io[R_SCX])
    dots = MODE3_BASE_DOTS + (scx & 7)
    if window_shows(s, line):
        dots += WINDOW_START_DOTS
    if lcdc & OBJ_ENABLE:
        last_tile = OFFSCREEN_TILE - 1
        for i in range(count):
            x = np.int64(s.oam[4 * np.int64(s.line_objs[i]) + 1])
            if x >= OBJ_X_OFFSCREEN_RIGHT:
                continue
            dots += OBJ_FETCH_DOTS
            if x == 0:
                # Wholly left of the screen: a tile of its own, fetched whole.
                tile = OFFSCREEN_TILE
                offset = 0
            else:
                pixel = x - 8 + (scx & 7)
                tile = pixel >> 3
                offset = pixel & 7
            if tile != last_tile:
                dots += max(0, 5 - offset)
                last_tile = tile
    return dots


@njit
def tile_row(s, tile_addr, row):
    """The two bit-planes of one row of a tile, as one 16-bit word (low | high << 8)."""
    addr = tile_addr + 2 * row
    return np.int64(s.vram[addr]) | (np.int64(s.vram[addr + 1]) << 8)


@njit
def draw_tiles(s, map_base, tiles_unsigned, src_x, src_y, start, stop):
    """BG or window colour numbers for screen pixels start..stop-1 into line_bg."""
    vram = s.vram
    line_bg = s.line_bg
    row = src_y & 7
    map_row = map_base + ((src_y >> 3) & 31) * 32
    x = start
    px = src_x
    while x < stop:
        tile = np.int64(vram[map_row + ((px >> 3) & 31)])
        if tiles_unsigned:
            addr = tile * 16 + 2 * row
        else:
            addr = 0x1000 + ((tile ^ 0x80) - 0x80) * 16 + 2 * row
        low = np.int64(vram[addr])
        high = np.int64(vram[addr + 1]) << 1
        bit = 7 - (px & 7)
        count = min(bit + 1, stop - x)
        for _ in range(count):
            line_bg[x] = ((low >> bit) & 1) | ((high >> bit) & 2)
            bit -= 1
            x += 1
        px += count


@njit
def draw_objects(s, line):
    """Find the winning object pixel for each x into line_obj (0 = none)."""
    lcdc = np.int64(s.io[R_LCDC])
    tall = lcdc & OBJ_TALL != 0
    for x in range(WIDTH):
        s.line_obj[x] = 0
    for i in range(s.line_obj_count):
        base = 4 * np.int64(s.line_objs[i])
        top = np.int64(s.oam[base]) - 16
        left = np.int64(s.oam[base + 1]) - 8
        tile = np.int64(s.oam[base + 2])
        attr = np.int64(s.oam[base + 3])
        row = line - top
        if tall:
            tile &= 0xFE
            if attr & ATTR_Y_FLIP:
                row = 15 - row
        elif attr & ATTR_Y_FLIP:
            row = 7 - row
        planes = tile_row(s, tile * 16, row)
        extra = (4 if attr & ATTR_PALETTE1 else 0) | (8 if attr & ATTR_BEHIND_BG else 0)
        for col in range(8):
            x = left + col
            if x < 0 or x >= WIDTH or s.line_obj[x] != 0:
                continue   # off screen, or a higher-priority object already owns it
            bit = col if attr & ATTR_X_FLIP else 7 - col
            color = ((planes >> bit) & 1) | (((planes >> (bit + 8)) & 1) << 1)
            if color:
                s.line_obj[x] = color | extra


@njit
def draw_line(s, line):
    """Draw one visible line into fb with the registers as they are now."""
    lcdc = np.int64(s.io[R_LCDC])
    window = window_shows(s, line)
    s.window_drawn = 1 if window else 0
    if s.render:
        if lcdc & BG_WINDOW_ENABLE:
            tiles_unsigned = lcdc & TILES_UNSIGNED != 0
            bg_map = 0x1C00 if lcdc & BG_MAP_HIGH else 0x1800
            scx = np.int64(s.io[R_SCX])
            src_y = (line + np.int64(s.io[R_SCY])) & 255
            window_x = np.int64(s.io[R_WX]) - 7 if window else WIDTH
            draw_tiles(s, bg_map, tiles_unsigned, scx, src_y, np.int64(0),
                       max(0, min(window_x, WIDTH)))
            if window:
                win_map = 0x1C00 if lcdc & WINDOW_MAP_HIGH else 0x1800
                start = max(window_x, 0)
                draw_tiles(s, win_map, tiles_unsigned, start - window_x, s.window_line,
                           start, WIDTH)
        else:
            for x in range(WIDTH):
                s.line_bg[x] = 0
        if lcdc & OBJ_ENABLE:
            draw_objects(s, line)
        bgp = np.int64(s.io[R_BGP])
        obp0 = np.int64(s.io[R_OBP0])
        obp1 = np.int64(s.io[R_OBP1])
        line_bg = s.line_bg
        line_obj = s.line_obj
        out = s.fb[line]
        if lcdc & OBJ_ENABLE != 0 and s.line_obj_count > 0:
            for x in range(WIDTH):
                bg = np.int64(line_bg[x])
                obj = np.int64(line_obj[x])
                if obj and not (obj & 8 and bg):
                    palette = obp1 if obj & 4 else obp0
                    out[x] = (palette >> (2 * (obj & 3))) & 3
                else:
                    out[x] = (bgp >> (2 * bg)) & 3
        else:
            for x in range(WIDTH):
                out[x] = (bgp >> (2 * np.int64(line_bg[x]))) & 3
    if window:
        s.window_line += 1
