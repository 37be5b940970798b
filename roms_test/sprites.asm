; sprites.gb: which objects the DMG draws and which one wins a pixel. Checked against a
; picture of the correct screen (sprites-dmg.png, drawn by tools/reference_screens.py
; from the rules below, not by the emulator).
;
; Pan Docs ("OAM", "Object priority"): the OAM scan of a line picks the first 10 objects
; in OAM order whose rows cover the line, whatever their X (one at X = 0, wholly off
; the left edge, still takes a place); where objects overlap, the one with the smaller X
; wins, and with equal X the one first in OAM; colour 0 is transparent; with attribute
; bit 7 an object pixel shows only over background colour 0; bit 5 and bit 6 flip the
; tile, bit 4 picks OBP1; in 8x16 mode the tile number's bit 0 is ignored and a Y flip
; swaps the two tiles.
;
;   lines 8-15    12 objects on one line: the first at X = 0 (hidden) counts, so only
;                 objects 1-9 show; 10 and 11 are dropped
;   lines 24-31   overlaps: X 36 beats X 40 (although later in OAM); at equal X = 80
;                 the earlier object wins
;   lines 40-47   a corner tile plain, X-flipped, Y-flipped, both, and in OBP1
;   lines 56-63   behind-background objects: hidden where the background is colour 2
;                 (x >= 80), shown over colour 0; a normal object over colour 2
;   lines 80-95   8x16 objects (LCDC bit 2 set from line 72): tile 3 draws tiles 2 and 3;
;                 Y-flipped, the halves swap

    TITLE "GBEMU SPRITES"

LCDC_SMALL     EQU $93          ; LCD on, tiles $8000, objects 8x8 on, background on
LCDC_TALL      EQU $97          ; the same with 8x16 objects
FIRST_CHANGE   EQU 71           ; LYC for the switch to 8x16 (from line 72)
FRAMES         EQU 4
BG_MAP         EQU $9800
BG_DARK_ROW    EQU BG_MAP + 7 * 32 + 10  ; map row 7 (lines 56-63), columns 10-19

; Object attributes.
BEHIND_BG      EQU $80
FLIP_Y         EQU $40
FLIP_X         EQU $20
USE_OBP1       EQU $10

SECTION "variables", HRAM[$FF80]
hVBlanks:   ds 1
hChange:    ds 1

SECTION "vblank interrupt", ROM0[$0040]
    jp VBlankHandler

SECTION "stat interrupt", ROM0[$0048]
    jp StatHandler

    INCLUDE "../gbemu/assets/common.inc"   ; entry, main section, LcdOff, Copy, Fill
    INCLUDE "raster.inc"        ; RunFrames and the interrupt handlers

Start:
    di
    ld sp, $FFFE
    call LcdOff

    ld hl, Tiles
    ld de, $8000
    ld bc, TilesEnd - Tiles
    call Copy

    ld hl, BG_MAP
    ld bc, 32 * 32
    xor a
    call Fill
    ld hl, BG_DARK_ROW
    ld bc, 10
    ld a, 7
    call Fill

    ld hl, OAM_START            ; clear OAM, then the objects of the scene
    ld bc, 160
    xor a
    call Fill
    ld hl, Objects
    ld de, OAM_START
    ld bc, ObjectsEnd - Objects
    call Copy

    ld a, %11100100
    ldh [BGP], a
    ldh [OBP0], a
    ld a, %00011011
    ldh [OBP1], a
    ld a, LCDC_SMALL
    jp RunFrames

ResetFrame:
    ld a, LCDC_SMALL
    ldh [LCDC], a
    ld a, LOW(Changes)
    ldh [hChange], a
    ld a, FIRST_CHANGE
    ldh [LYC], a
    ret

Tiles:
    ; 0: colour 0
    ds 16
    ; 1: a corner in colours 3, 2, 1 (top left), to show flips and palettes
    dw `33322100, `33221000, `32210000, `22100000
    dw `21000000, `10000000, `00000000, `00000000
    ; 2 and 3: solid colour 1 and solid colour 2 (an 8x16 pair)
    dw `11111111, `11111111, `11111111, `11111111
    dw `11111111, `11111111, `11111111, `11111111
    dw `22222222, `22222222, `22222222, `22222222
    dw `22222222, `22222222, `22222222, `22222222
    ; 4, 5, 6: solid colour 3, 1, 2
    dw `33333333, `33333333, `33333333, `33333333
    dw `33333333, `33333333, `33333333, `33333333
    dw `11111111, `11111111, `11111111, `11111111
    dw `11111111, `11111111, `11111111, `11111111
    dw `22222222, `22222222, `22222222, `22222222
    dw `22222222, `22222222, `22222222, `22222222
    ; 7: solid colour 2, for the background
    dw `22222222, `22222222, `22222222, `22222222
    dw `22222222, `22222222, `22222222, `22222222
TilesEnd:

; OAM entries: Y + 16, X + 8, tile, attributes. tools/reference_screens.py lists the same
; scene in screen coordinates.
Objects:
    ; 0-11: twelve on lines 8-15; the first wholly off the left edge
    db 8 + 16, 0, 4, 0
    db 8 + 16, 4 + 8, 4, 0
    db 8 + 16, 16 + 8, 4, 0
    db 8 + 16, 28 + 8, 4, 0
    db 8 + 16, 40 + 8, 4, 0
    db 8 + 16, 52 + 8, 4, 0
    db 8 + 16, 64 + 8, 4, 0
    db 8 + 16, 76 + 8, 4, 0
    db 8 + 16, 88 + 8, 4, 0
    db 8 + 16, 100 + 8, 4, 0
    db 8 + 16, 112 + 8, 4, 0
    db 8 + 16, 124 + 8, 4, 0
    ; 12-15: overlaps on lines 24-31
    db 24 + 16, 40 + 8, 4, 0
    db 24 + 16, 36 + 8, 5, 0
    db 24 + 16, 80 + 8, 6, 0
    db 24 + 16, 80 + 8, 4, 0
    ; 16-20: flips and OBP1 on lines 40-47
    db 40 + 16, 16 + 8, 1, 0
    db 40 + 16, 32 + 8, 1, FLIP_X
    db 40 + 16, 48 + 8, 1, FLIP_Y
    db 40 + 16, 64 + 8, 1, FLIP_X | FLIP_Y
    db 40 + 16, 80 + 8, 1, USE_OBP1
    ; 21-22: background priority on lines 56-63
    db 56 + 16, 76 + 8, 4, BEHIND_BG
    db 56 + 16, 100 + 8, 5, 0
    ; 23-24: 8x16 on lines 80-95
    db 80 + 16, 24 + 8, 3, 0
    db 80 + 16, 48 + 8, 2, FLIP_Y
ObjectsEnd:

SECTION "changes", ROM0[$0800]
Changes:
    db LOW(LCDC), LCDC_TALL, NO_LINE          ; from line 72
