; gbemu's demo cartridge: what `gbemu` with no ROM plays.
;
; A patterned background scrolls diagonally, a ball moves with the D-pad, holding A
; changes the ball and holding B inverts the background colours. A bar along the bottom
; (the window layer) shows the title and which buttons are held.
;
; Built by tools/build_roms.py with gbemu's own assembler (gbemu/asm.py), which
; predefines the I/O register names of gbemu/core/hwio.py (LCDC, LY, P1, ...).

    TITLE "GBEMU DEMO"

LCDC_ON        EQU $F3          ; LCD, window at $9C00, tiles at $8000, objects, background
MAP            EQU $9800
WINDOW_MAP     EQU $9C00
TILE_DATA      EQU $8000
BAR_TOP        EQU 128          ; WY: the bar is the bottom two tile rows
WINDOW_LEFT    EQU 7            ; WX: the window starts at the left edge
PALETTE        EQU %11100100    ; shades 0-3 in order
PALETTE_INVERTED EQU %00011011

BALL_TILE      EQU 1
BALL_HELD_TILE EQU 2
PATTERN_TILE   EQU 3            ; and PATTERN_TILE + 1
BALL_MAX_X     EQU 152
BALL_MAX_Y     EQU BAR_TOP - 8
OBJ_Y_OFFSET   EQU 16           ; OAM coordinates are offset from the screen's
OBJ_X_OFFSET   EQU 8

; hJoy bits, as ReadJoypad packs them.
JOY_A          EQU $01
JOY_B          EQU $02
JOY_SELECT     EQU $04
JOY_START      EQU $08
JOY_RIGHT      EQU $10
JOY_LEFT       EQU $20
JOY_UP         EQU $40
JOY_DOWN       EQU $80
SELECT_DPAD    EQU $20          ; P1 bit 4 low: read the direction keys
SELECT_BUTTONS EQU $10          ; P1 bit 5 low: read the action buttons
SELECT_NONE    EQU $30

SECTION "variables", HRAM[$FF80]
hVBlank:    ds 1                ; set by the VBlank interrupt
hJoy:       ds 1                ; buttons held, 1 = pressed
hBallX:     ds 1
hBallY:     ds 1
hFrame:     ds 1

SECTION "vblank interrupt", ROM0[$0040]
    push af
    ld a, 1
    ldh [hVBlank], a
    pop af
    reti

    INCLUDE "common.inc"        ; the entry point, the main section, LcdOff, Copy, Fill

Start:
    di
    ld sp, $FFFE
    call LcdOff

    ; The font, one bit per pixel, goes in as shade 3: each byte in both bit planes.
    ld hl, Font
    ld de, TILE_DATA + $20 * 16
    ld bc, FontEnd - Font
.font:
    ld a, [hl+]
    ld [de], a
    inc de
    ld [de], a
    inc de
    dec bc
    ld a, b
    or c
    jr nz, .font

    ld hl, Tiles
    ld de, TILE_DATA
    ld bc, TilesEnd - Tiles
    call Copy

    ; The background: a checkerboard of the two pattern tiles over the whole 32x32 map.
    ld hl, MAP
    ld d, 32
.row:
    ld e, 32
.column:
    ld a, d
    xor e
    and 1
    add a, PATTERN_TILE
    ld [hl+], a
    dec e
    jr nz, .column
    dec d
    jr nz, .row

    ; The bar: two rows of spaces with the title on the first.
    ld hl, WINDOW_MAP
    ld bc, 64
    ld a, ' '
    call Fill
    ld hl, TitleText
    ld de, WINDOW_MAP + 5
    call CopyText

    ld hl, OAM_START
    ld bc, 160
    xor a
    call Fill

    xor a
    ldh [hVBlank], a
    ldh [hJoy], a
    ldh [hFrame], a
    ldh [SCX], a
    ldh [SCY], a
    ld a, 76
    ldh [hBallX], a
    ld a, 60
    ldh [hBallY], a
    ld a, PALETTE
    ldh [BGP], a
    ldh [OBP0], a
    ld a, BAR_TOP
    ldh [WY], a
    ld a, WINDOW_LEFT
    ldh [WX], a
    ld a, LCDC_ON
    ldh [LCDC], a
    ld a, INT_VBLANK
    ldh [IE_ADDR], a
    xor a
    ldh [IF], a
    ei

MainLoop:
    halt
    nop
    ldh a, [hVBlank]
    and a
    jr z, MainLoop
    xor a
    ldh [hVBlank], a
    call DrawFrame              ; first, while VBlank lasts
    call ReadJoypad
    call MoveBall
    jr MainLoop

; Update OAM, the palette, the scroll and the bar; only safe during VBlank.
DrawFrame:
    ld hl, OAM_START
    ldh a, [hBallY]
    add a, OBJ_Y_OFFSET
    ld [hl+], a
    ldh a, [hBallX]
    add a, OBJ_X_OFFSET
    ld [hl+], a
    ldh a, [hJoy]
    and JOY_A
    ld a, BALL_TILE
    jr z, .tile
    ld a, BALL_HELD_TILE
.tile:
    ld [hl+], a
    xor a
    ld [hl], a

    ldh a, [hJoy]
    and JOY_B
    ld a, PALETTE
    jr z, .palette
    ld a, PALETTE_INVERTED
.palette:
    ldh [BGP], a

    ; Scroll one pixel right every frame and one pixel down every other frame.
    ldh a, [SCX]
    inc a
    ldh [SCX], a
    ldh a, [hFrame]
    inc a
    ldh [hFrame], a
    and 1
    jr nz, .bar
    ldh a, [SCY]
    inc a
    ldh [SCY], a

.bar:                           ; each slot shows its text while its button is held
    ld hl, ButtonSlots
.slot:
    ld a, [hl+]                 ; the button's hJoy bit; 0 ends the table
    and a
    ret z
    ld c, a
    ld a, [hl+]                 ; column
    add a, LOW(WINDOW_MAP + 32)
    ld e, a
    ld d, HIGH(WINDOW_MAP + 32)
    ld a, [hl+]                 ; length
    ld b, a
    ldh a, [hJoy]
    and c
    jr z, .released
.held:
    ld a, [hl+]
    ld [de], a
    inc de
    dec b
    jr nz, .held
    jr .slot
.released:
    inc hl
    ld a, '-'
    ld [de], a
    inc de
    dec b
    jr nz, .released
    jr .slot

; hJoy = the buttons held (JOY_* bits), read from the P1 matrix one half at a time.
ReadJoypad:
    ld a, SELECT_DPAD
    ldh [P1], a
    ldh a, [P1]
    ldh a, [P1]                 ; read twice: the lines take a moment to settle
    cpl
    and $0F
    swap a
    ld b, a
    ld a, SELECT_BUTTONS
    ldh [P1], a
    ldh a, [P1]
    ldh a, [P1]
    ldh a, [P1]
    ldh a, [P1]
    cpl
    and $0F
    or b
    ldh [hJoy], a
    ld a, SELECT_NONE
    ldh [P1], a
    ret

; Move the ball one pixel a frame in each held direction, inside the play field.
MoveBall:
    ldh a, [hJoy]
    ld b, a
    ldh a, [hBallX]
    bit 4, b                    ; right
    jr z, .notRight
    cp BALL_MAX_X
    jr nc, .notRight
    inc a
.notRight:
    bit 5, b                    ; left
    jr z, .notLeft
    and a
    jr z, .notLeft
    dec a
.notLeft:
    ldh [hBallX], a
    ldh a, [hBallY]
    bit 7, b                    ; down
    jr z, .notDown
    cp BALL_MAX_Y
    jr nc, .notDown
    inc a
.notDown:
    bit 6, b                    ; up
    jr z, .notUp
    and a
    jr z, .notUp
    dec a
.notUp:
    ldh [hBallY], a
    ret

; Copy the zero-terminated text at HL to DE.
CopyText:
    ld a, [hl+]
    and a
    ret z
    ld [de], a
    inc de
    jr CopyText

TitleText:
    db "GBEMU DEMO", 0

; Bar slots: hJoy bit, column, length, text.
ButtonSlots:
    db JOY_LEFT, 1, 1, "<"
    db JOY_UP, 2, 1, "^"
    db JOY_DOWN, 3, 1, "V"
    db JOY_RIGHT, 4, 1, ">"
    db JOY_A, 7, 1, "A"
    db JOY_B, 9, 1, "B"
    db JOY_SELECT, 11, 3, "SEL"
    db JOY_START, 15, 5, "START"
    db 0

Tiles:
    ; 0: blank
    ds 16
    ; 1: the ball
    dw `00333300
    dw `03111130
    dw `31001113
    dw `31011113
    dw `31111113
    dw `31111123
    dw `03112230
    dw `00333300
    ; 2: the ball while A is held
    dw `00333300
    dw `03322330
    dw `33222233
    dw `32233223
    dw `32233223
    dw `33222233
    dw `03322330
    dw `00333300
    ; 3 and 4: the background pattern
    dw `11000000
    dw `01100000
    dw `00110000
    dw `00011000
    dw `00001100
    dw `00000110
    dw `00000011
    dw `10000001
    dw `00000000
    dw `00000000
    dw `00100100
    dw `00000000
    dw `00000000
    dw `00100100
    dw `00000000
    dw `00000000
TilesEnd:

    INCLUDE "font.inc"
