; joypad.gb: the P1 button matrix and the joypad interrupt.
;
; Reports by the Mooneye protocol and narrates on the link port. Pan Docs, "Joypad Input":
; P1 bits 5-4 select the direction keys (bit 4 low) and/or the action buttons (bit 5
; low); bits 3-0 read the selected lines, 0 = pressed; bits 7-6 read 1. The joypad
; interrupt is requested when one of the lines P10-P13 falls from high to low.
;
; 1. Nothing pressed: each of the four select values reads back with the lines high.
; 2. Nothing pressed: switching the select lines requests no joypad interrupt.
; 3. Presses, prompted on the link port ("press RIGHT", then "release"): each one must
;    raise the joypad interrupt and read back as pressed in its half of the matrix. A
;    player is needed: tests/test_own_roms.py answers the prompts; `gbemu test` gives
;    none, and when no press comes within 2 s the ROM says so and passes on 1 and 2.
; 4. With A held ("hold A"), selecting the action buttons after the direction keys
;    makes line P10 fall, which must request the joypad interrupt too.

    TITLE "GBEMU JOYPAD"

INT_HANDLERS   EQU INT_VBLANK | INT_JOYPAD
SELECT_NONE    EQU $30
SELECT_DPAD    EQU $20
SELECT_BUTTONS EQU $10
SELECT_BOTH    EQU $00
NO_INPUT_FRAMES EQU 120         ; how long the first prompt waits for a player
STEP_FRAMES    EQU 240          ; how long later prompts wait

SECTION "variables", HRAM[$FF80]
hVBlanks:   ds 1
hJoypadIRQ: ds 1
hTimeout:   ds 1
hExpected:  ds 2

SECTION "vblank interrupt", ROM0[$0040]
    push af
    ldh a, [hVBlanks]
    inc a
    ldh [hVBlanks], a
    pop af
    reti

SECTION "joypad interrupt", ROM0[$0060]
    push af
    ld a, 1
    ldh [hJoypadIRQ], a
    pop af
    reti

    INCLUDE "../gbemu/assets/common.inc"   ; the entry point and the main section

Start:
    di
    ld sp, $FFFE
    ld hl, IntroText
    call SerialText

    ; 1. Idle reads of the four select values.
    ld hl, IdleReads
.idle:
    ld a, [hl+]                 ; value written; $FF ends the table
    cp $FF
    jr z, .idleDone
    ld d, a
    ld a, [hl+]                 ; value expected back
    ld e, a
    ld a, d
    ldh [P1], a
    ldh a, [P1]
    ldh a, [P1]
    ld b, a
    push hl
    ld hl, WroteText
    call SerialText
    ld a, d
    call SerialHex
    ld hl, ReadText
    call SerialText
    ld a, b
    call SerialHex
    ld a, '\n'
    call SerialChar
    pop hl
    ld a, b
    cp e
    jr z, .idle
    ld hl, IdleFailText
    jp Fail
.idleDone:

    ; 2. No interrupt request from switching the select lines with nothing pressed.
    xor a
    ldh [IF], a
    ld a, SELECT_DPAD
    ldh [P1], a
    ld a, SELECT_BUTTONS
    ldh [P1], a
    ld a, SELECT_BOTH
    ldh [P1], a
    ld a, SELECT_NONE
    ldh [P1], a
    ldh a, [IF]
    and INT_JOYPAD
    jr z, .quiet
    ld hl, SpuriousText
    jp Fail
.quiet:
    ld hl, QuietText
    call SerialText

    ; 3. Prompted presses.
    ld a, INT_HANDLERS
    ldh [IE_ADDR], a
    ld a, SELECT_BOTH
    ldh [P1], a
    xor a
    ldh [IF], a
    ldh [hJoypadIRQ], a
    ei
    ld hl, Steps
    ld a, NO_INPUT_FRAMES
    ldh [hTimeout], a
.step:
    ld a, [hl+]                 ; expected direction lines; $FF ends the table
    cp $FF
    jp z, HeldSelect
    ldh [hExpected], a
    ld a, [hl+]                 ; expected action lines
    ldh [hExpected + 1], a
    push hl
    ld hl, PressText
    call SerialText
    pop hl
    call SerialText             ; the buttons' names; HL moves on to the next step
    ld a, '\n'
    call SerialChar
    push hl
    call WaitJoypadIRQ
    jr nc, .pressed
    ldh a, [hTimeout]
    cp NO_INPUT_FRAMES
    jr nz, .late
    ld hl, NoInputText          ; nobody is there to press: parts 1 and 2 passed
    call SerialText
    jp Pass
.late:
    ld hl, NoPressText
    jp Fail
.pressed:
    ld a, STEP_FRAMES
    ldh [hTimeout], a
    call ReadMatrix             ; D = direction lines, E = action lines
    ld hl, DpadText
    call SerialText
    ld a, d
    call SerialHex
    ld hl, ButtonsText
    call SerialText
    ld a, e
    call SerialHex
    ld a, '\n'
    call SerialChar
    ldh a, [hExpected]
    cp d
    jr nz, .wrong
    ldh a, [hExpected + 1]
    cp e
    jr nz, .wrong
    call WaitRelease
    pop hl
    jr .step
.wrong:
    ld hl, WrongText
    jp Fail

; 4. A held, then its group selected: the line falls, and the interrupt is requested.
HeldSelect:
    ld hl, HoldText
    call SerialText
    call WaitJoypadIRQ
    jr nc, .held
    ld hl, NoPressText
    jp Fail
.held:
    di
    ld a, SELECT_DPAD           ; A is not in this half: all four lines high
    ldh [P1], a
    ldh a, [P1]
    ldh a, [P1]
    xor a
    ldh [IF], a
    ld a, SELECT_BUTTONS        ; now P10 (A) is selected and falls
    ldh [P1], a
    ldh a, [P1]
    ldh a, [P1]
    ldh a, [IF]
    ld b, a
    ld hl, EdgeText
    call SerialText
    ld a, b
    call SerialHex
    ld a, '\n'
    call SerialChar
    ld a, b
    and INT_JOYPAD
    jr nz, .edge
    ld hl, NoEdgeText
    jp Fail
.edge:
    ld a, SELECT_BOTH
    ldh [P1], a
    xor a
    ldh [IF], a
    ei
    call WaitRelease
    jp Pass

; Wait for the joypad interrupt, at most hTimeout frames. Carry set on time-out.
WaitJoypadIRQ:
    ldh a, [hTimeout]
    ld e, a
.wait:
    ldh a, [hJoypadIRQ]
    and a
    jr nz, .done
    ld b, 1
    call WaitFrames
    dec e
    jr nz, .wait
    scf
    ret
.done:
    xor a
    ldh [hJoypadIRQ], a         ; also clears carry
    ret

; D = the direction lines, E = the action lines (low nibble, 0 = pressed).
ReadMatrix:
    ld a, SELECT_DPAD
    ldh [P1], a
    ldh a, [P1]
    ldh a, [P1]
    and $0F
    ld d, a
    ld a, SELECT_BUTTONS
    ldh [P1], a
    ldh a, [P1]
    ldh a, [P1]
    and $0F
    ld e, a
    ld a, SELECT_BOTH
    ldh [P1], a
    ret

; Prompt "release" and wait until every line reads high, at most STEP_FRAMES frames.
WaitRelease:
    ld hl, ReleaseText
    call SerialText
    ld e, STEP_FRAMES
.wait:
    ldh a, [P1]
    and $0F
    cp $0F
    jr z, .released
    ld b, 1
    call WaitFrames
    dec e
    jr nz, .wait
    ld hl, StuckText
    jp Fail
.released:
    xor a
    ldh [hJoypadIRQ], a
    ret

    INCLUDE "lib.inc"

; Idle reads: value written to P1, value read back with nothing pressed.
IdleReads:
    db SELECT_NONE, $FF
    db SELECT_DPAD, $EF
    db SELECT_BUTTONS, $DF
    db SELECT_BOTH, $CF
    db $FF

; Prompted steps: direction lines, action lines (0 = pressed), the buttons' names.
Steps:
    db %1110, %1111, "RIGHT", 0
    db %1111, %1110, "A", 0
    db %0111, %0111, "DOWN START", 0
    db %1001, %1001, "LEFT UP B SELECT", 0
    db $FF

IntroText:      db "joypad: P1 matrix and interrupt\n", 0
WroteText:      db "P1 write ", 0
ReadText:       db " read ", 0
IdleFailText:   db "wrong idle read", 0
SpuriousText:   db "joypad interrupt with nothing pressed", 0
QuietText:      db "no interrupt while switching lines\n", 0
PressText:      db "press ", 0
NoInputText:    db "no input: press steps skipped\n", 0
NoPressText:    db "no joypad interrupt for the press", 0
DpadText:       db "dpad ", 0
ButtonsText:    db " buttons ", 0
WrongText:      db "wrong lines for the buttons pressed", 0
ReleaseText:    db "release\n", 0
StuckText:      db "buttons still read pressed after release", 0
HoldText:       db "hold A\n", 0
EdgeText:       db "IF after selecting A's half ", 0
NoEdgeText:     db "no joypad interrupt when the held button's half was selected", 0
