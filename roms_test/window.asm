; window.gb: the window layer's internal line counter and its position registers changed
; during a frame. Checked against a picture of the correct screen (window-dmg.png, drawn
; by tools/reference_screens.py from the rules below, not by the emulator): `gbemu test`
; runs the ROM to its LD B,B and compares the frame pixel for pixel.
;
; Pan Docs ("Window"): the window is drawn from its own line counter, which counts only
; the lines on which the window was actually drawn; once LY has equalled WY in a frame,
; changing WY does not stop it; WX = 167 or more puts it off the screen.
;
; Every window tile row shows one dark dot whose column within the tile is the row
; number (a diagonal), in shade 1, 2 or 3 by tile row of the map, so each screen line
; shows which window line was drawn there (modulo 24). The frame, line by line:
;   0-15    WY = 16: no window yet (white background)
;   16-39   window from x = 20 (WX = 27): window lines 0-23
;   40-55   window switched off (LCDC bit 5): not drawn, the counter waits
;   56-79   switched on again: window lines 24-47, not 40-63
;   80-95   WX = 167: off the screen, the counter waits
;   96-111  WX = 47, from x = 40: window lines 48-63
;   112-127 WY = 255: no effect, the window already started this frame: lines 64-79
;   128-143 WX = 7, from x = 0: lines 80-95
; Each change is written in the HBlank of the line before it, by the LYC interrupt.

    TITLE "GBEMU WINDOW"

LCDC_WINDOW    EQU $F1          ; LCD on, window map $9C00, window on, tiles $8000, BG on
LCDC_NO_WINDOW EQU $D1          ; the same with the window off
FIRST_WX       EQU 27
FIRST_WY       EQU 16
FIRST_CHANGE   EQU 39           ; LYC for the first change (it applies from line 40)
FRAMES         EQU 4            ; frames drawn before the screen is checked
BG_MAP         EQU $9800
WINDOW_MAP     EQU $9C00

SECTION "variables", HRAM[$FF80]
hVBlanks:   ds 1
hChange:    ds 1                ; low byte of the next entry of Changes

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

    ; The background: tile 0 (white) everywhere.
    ld hl, BG_MAP
    ld bc, 32 * 32
    xor a
    call Fill

    ; The window map: row k is all tile 1 + k mod 3.
    ld hl, WINDOW_MAP
    ld d, 32                    ; rows left
    ld e, 1                     ; tile of this row
.row:
    ld b, 32
.column:
    ld a, e
    ld [hl+], a
    dec b
    jr nz, .column
    inc e
    ld a, e
    cp 4
    jr nz, .next
    ld e, 1
.next:
    dec d
    jr nz, .row

    ld a, %11100100
    ldh [BGP], a
    ld a, LCDC_WINDOW
    jp RunFrames

ResetFrame:
    ld a, LCDC_WINDOW
    ldh [LCDC], a
    ld a, FIRST_WX
    ldh [WX], a
    ld a, FIRST_WY
    ldh [WY], a
    ld a, LOW(Changes)
    ldh [hChange], a
    ld a, FIRST_CHANGE
    ldh [LYC], a
    ret

Tiles:
    ; 0: white
    ds 16
    ; 1-3: a diagonal of dots in shade 1, 2, 3
    dw `10000000, `01000000, `00100000, `00010000
    dw `00001000, `00000100, `00000010, `00000001
    dw `20000000, `02000000, `00200000, `00020000
    dw `00002000, `00000200, `00000020, `00000002
    dw `30000000, `03000000, `00300000, `00030000
    dw `00003000, `00000300, `00000030, `00000003
TilesEnd:

SECTION "changes", ROM0[$0800]
; Register (low byte of $FFxx), value, LYC that arms the next change.
Changes:
    db LOW(LCDC), LCDC_NO_WINDOW, 55        ; from line 40
    db LOW(LCDC), LCDC_WINDOW, 79           ; from line 56
    db LOW(WX), 167, 95                     ; from line 80
    db LOW(WX), 47, 111                     ; from line 96
    db LOW(WY), 255, 127                    ; from line 112
    db LOW(WX), 7, NO_LINE                  ; from line 128
