"""The SM83 CPU, decoded by bit fields, and the compiled run loop.

An opcode splits into x = bits 7-6, y = bits 5-3, z = bits 2-0, p = y >> 1,
q = y & 1. x=1 is LD r,r' and x=2 is ALU A,r for every register code, so two
lines handle 128 opcodes; x=0 and x=3 are short if-trees. Register code 6 means
the byte at [HL]. Every memory access costs one M-cycle through the bus;
a bare ``tick`` is an M-cycle with no access (16-bit arithmetic, taken branches, the
pushes' address update).

Cycles per instruction, flags and mnemonics are listed in gbemu/opcodes.py;
the unit tests check this code against that table.
"""

import numpy as np
from numba import njit

from gbemu.core.hwio import (
    EV_BREAKPOINT, EV_ILLEGAL, EV_STOP, EV_TARGET, DEBUG_EXEC, DEBUG_CALLS, BP_EXEC,
)
from gbemu.core.hwio import (  # io-field offsets
    R_IF, R_TAC,
)
from gbemu.core.state import REG_C, REG_F, REG_A, CALL_RING
from gbemu.core.bus import (
    tick, read, write, sync, schedule, peek, update_bus_special, idu_glitch,
)
from gbemu.core.cart import cart_reset
from gbemu.core.timer import counter_write


FLAG_Z = 0x80
FLAG_N = 0x40
FLAG_H = 0x20
FLAG_C = 0x10

RP_HL = 2        # register pair codes: BC DE HL SP
OP_LD_B_B = 0x40
OP_HALT = 0x76


# -- small helpers ---------------------------------------------------------

@njit
def fetch8(s):
    value = read(s, np.int64(s.pc))
    if s.halt_bug:
        s.halt_bug = 0           # the byte after HALT is read twice
    else:
        s.pc = (np.int64(s.pc) + 1) & 0xFFFF
    return value


@njit
def fetch16(s):
    low = fetch8(s)
    return low | (fetch8(s) << 8)


@njit
def get_r(s, code):
    """Register by its 3-bit code: B C D E H L [HL] A."""
    if code == 6:
        return read(s, get_rp(s, RP_HL))
    return np.int64(s.r8[code])


@njit
def set_r(s, code, value):
    if code == 6:
        write(s, get_rp(s, RP_HL), value & 0xFF)
    else:
        s.r8[code] = value & 0xFF


@njit
def get_rp(s, p):
    """Register pair by its 2-bit code: BC DE HL SP."""
    if p == 3:
        return np.int64(s.sp)
    return (np.int64(s.r8[2 * p]) << 8) | np.int64(s.r8[2 * p + 1])


@njit
def set_rp(s, p, value):
    if p == 3:
        s.sp = value & 0xFFFF
    else:
        s.r8[2 * p] = (value >> 8) & 0xFF
        s.r8[2 * p + 1] = value & 0xFF


@njit
def condition(s, cc):
    """NZ Z NC C."""
    f = np.int64(s.r8[REG_F])
    if cc == 0:
        return not f & FLAG_Z
    if cc == 1:
        return f & FLAG_Z != 0
    if cc == 2:
        return not f & FLAG_C
    return f & FLAG_C != 0


@njit
def push16(s, value):
    """PUSH's bus pattern: an idle M-cycle to move SP, then high byte, low byte."""
    tick(s)
    idu_glitch(s, np.int64(s.sp))
    sp = (np.int64(s.sp) - 1) & 0xFFFF
    write(s, sp, (value >> 8) & 0xFF)
    sp = (sp - 1) & 0xFFFF
    write(s, sp, value & 0xFF)
    s.sp = sp


@njit
def pop16(s):
    sp = np.int64(s.sp)
    s.idu_read = 1          # the first read shares its M-cycle with SP's increment
    low = read(s, sp)
    s.idu_read = 0
    high = read(s, (sp + 1) & 0xFFFF)
    s.sp = (sp + 2) & 0xFFFF
    return (high << 8) | low


@njit
def add_sp_offset(s):
    """SP + e8 with flags from the low byte's unsigned addition (ADD SP / LD HL,SP+)."""
    offset = fetch8(s)
    sp = np.int64(s.sp)
    f = 0
    if (sp & 0x0F) + (offset & 0x0F) > 0x0F:
        f |= FLAG_H
    if (sp & 0xFF) + offset > 0xFF:
        f |= FLAG_C
    s.r8[REG_F] = f
    return (sp + ((offset ^ 0x80) - 0x80)) & 0xFFFF


# -- arithmetic ------------------------------------------------------------

@njit
def alu(s, op, value):
    """ADD ADC SUB SBC AND XOR OR CP of A with value."""
    a = np.int64(s.r8[REG_A])
    carry = (np.int64(s.r8[REG_F]) >> 4) & 1
    f = 0
    if op == 0 or op == 1:
        c = carry if op == 1 else 0
        result = a + value + c
        if (a & 0x0F) + (value & 0x0F) + c > 0x0F:
            f |= FLAG_H
        if result > 0xFF:
            f |= FLAG_C
    elif op == 2 or op == 3 or op == 7:
        c = carry if op == 3 else 0
        result = a - value - c
        f = FLAG_N
        if (a & 0x0F) - (value & 0x0F) - c < 0:
            f |= FLAG_H
        if result < 0:
            f |= FLAG_C
    elif op == 4:
        result = a & value
        f = FLAG_H
    elif op == 5:
        result = a ^ value
    else:
        result = a | value
    result &= 0xFF
    if result == 0:
        f |= FLAG_Z
    s.r8[REG_F] = f
    if op != 7:
        s.r8[REG_A] = result


@njit
def rotate(s, op, value):
    """RLC RRC RL RR SLA SRA SWAP SRL; returns the result, sets Z00C."""
    carry_in = (np.int64(s.r8[REG_F]) >> 4) & 1
    if op == 0:
        carry = value >> 7
        result = (value << 1) | carry
    elif op == 1:
        carry = value & 1
        result = (value >> 1) | (carry << 7)
    elif op == 2:
        carry = value >> 7
        result = (value << 1) | carry_in
    elif op == 3:
        carry = value & 1
        result = (value >> 1) | (carry_in << 7)
    elif op == 4:
        carry = value >> 7
        result = value << 1
    elif op == 5:
        carry = value & 1
        result = (value >> 1) | (value & 0x80)
    elif op == 6:
        carry = 0
        result = ((value << 4) | (value >> 4))
    else:
        carry = value & 1
        result = value >> 1
    result &= 0xFF
    f = FLAG_C if carry else 0
    if result == 0:
        f |= FLAG_Z
    s.r8[REG_F] = f
    return result


@njit
def accumulator_op(s, y):
    """x=0 z=7: RLCA RRCA RLA RRA DAA CPL SCF CCF."""
    a = np.int64(s.r8[REG_A])
    f = np.int64(s.r8[REG_F])
    if y < 4:
        s.r8[REG_A] = rotate(s, y, a)
        s.r8[REG_F] = s.r8[REG_F] & FLAG_C      # Z is always cleared
    elif y == 4:
        if not f & FLAG_N:
            if f & FLAG_C or a > 0x99:
                a += 0x60
                f |= FLAG_C
            if f & FLAG_H or a & 0x0F > 0x09:
                a += 0x06
        else:
            if f & FLAG_C:
                a -= 0x60
            if f & FLAG_H:
                a -= 0x06
        a &= 0xFF
        f &= FLAG_N | FLAG_C
        if a == 0:
            f |= FLAG_Z
        s.r8[REG_A] = a
        s.r8[REG_F] = f
    elif y == 5:
        s.r8[REG_A] = a ^ 0xFF
        s.r8[REG_F] = f | FLAG_N | FLAG_H
    elif y == 6:
        s.r8[REG_F] = (f & FLAG_Z) | FLAG_C
    else:
        s.r8[REG_F] = (f & (FLAG_Z | FLAG_C)) ^ FLAG_C


@njit
def inc_dec8(s, code, delta):
    """INC r / DEC r: Z0H- or Z1H-."""
    value = get_r(s, code)
    result = (value + delta) & 0xFF
    f = np.int64(s.r8[REG_F]) & FLAG_C
    if result == 0:
        f |= FLAG_Z
    if delta > 0:
        if value & 0x0F == 0x0F:
            f |= FLAG_H
    else:
        f |= FLAG_N
        if value & 0x0F == 0:
            f |= FLAG_H
    s.r8[REG_F] = f
    set_r(s, code, result)


# -- instruction groups ----------------------------------------------------

@njit
def exec_cb(s):
    op = fetch8(s)
    x = op >> 6
    y = (op >> 3) & 7
    z = op & 7
    value = get_r(s, z)
    if x == 0:
        set_r(s, z, rotate(s, y, value))
    elif x == 1:
        f = (np.int64(s.r8[REG_F]) & FLAG_C) | FLAG_H
        if not (value >> y) & 1:
            f |= FLAG_Z
        s.r8[REG_F] = f
    elif x == 2:
        set_r(s, z, value & ~(1 << y))
    else:
        set_r(s, z, value | (1 << y))


@njit
def x0_z0(s, y):
    if y == 0:
        pass                                            # NOP
    elif y == 1:                                        # LD [a16],SP
        addr = fetch16(s)
        write(s, addr, np.int64(s.sp) & 0xFF)
        write(s, (addr + 1) & 0xFFFF, np.int64(s.sp) >> 8)
    elif y == 2:
        # STOP (its second byte is skipped unread). On a DMG the divider
        # is reset and the CPU sleeps until a button is pressed.
        s.pc = (np.int64(s.pc) + 1) & 0xFFFF
        sync(s)
        counter_write(s, np.int64(0), np.int64(s.io[R_TAC]) & 7)
        s.stopped = 1
        s.events |= EV_STOP
    else:                                               # JR e8 / JR cc,e8
        offset = fetch8(s)
        if y == 3 or condition(s, y - 4):
            tick(s)
            s.pc = (np.int64(s.pc) + (offset ^ 0x80) - 0x80) & 0xFFFF


@njit
def x0_z1(s, y):
    p = y >> 1
    if not y & 1:                                       # LD rr,n16
        set_rp(s, p, fetch16(s))
    else:                                               # ADD HL,rr
        a = get_rp(s, RP_HL)
        b = get_rp(s, p)
        result = a + b
        f = np.int64(s.r8[REG_F]) & FLAG_Z
        if (a & 0x0FFF) + (b & 0x0FFF) > 0x0FFF:
            f |= FLAG_H
        if result > 0xFFFF:
            f |= FLAG_C
        s.r8[REG_F] = f
        tick(s)
        set_rp(s, RP_HL, result & 0xFFFF)


@njit
def x0_z2(s, y):
    """LD [rr],A / LD A,[rr], with HL+ and HL-."""
    p = y >> 1
    if p < 2:
        addr = get_rp(s, p)
    else:
        addr = get_rp(s, RP_HL)
        set_rp(s, RP_HL, (addr + (1 if p == 2 else -1)) & 0xFFFF)
    if not y & 1:
        write(s, addr, np.int64(s.r8[REG_A]))
    else:
        s.idu_read = 1 if p >= 2 else 0
        s.r8[REG_A] = read(s, addr)
        s.idu_read = 0


@njit
def x0_z3(s, y):
    """INC rr / DEC rr."""
    p = y >> 1
    tick(s)
    value = get_rp(s, p)
    idu_glitch(s, value)
    set_rp(s, p, value + (1 if not y & 1 else -1))


@njit
def exec_x0(s, op):
    y = (op >> 3) & 7
    z = op & 7
    if z == 0:
        x0_z0(s, y)
    elif z == 1:
        x0_z1(s, y)
    elif z == 2:
        x0_z2(s, y)
    elif z == 3:
        x0_z3(s, y)
    elif z == 4 or z == 5:                              # INC r / DEC r
        inc_dec8(s, y, 9 - 2 * z)
    elif z == 6:                                        # LD r,n8
        set_r(s, y, fetch8(s))
    else:
        accumulator_op(s, y)


@njit
def note_call(s, origin):
    """The debugger's call ring: one frame per CALL, RST or interrupt."""
    slot = s.call_depth % CALL_RING
    s.call_return[slot] = origin
    s.call_to[slot] = s.pc
    s.call_sp[slot] = s.sp
    s.call_depth += 1


@njit
def note_return(s):
    """Drop every frame whose return address the stack pointer has passed
    (RET, RETI, or a program that unwinds the stack itself)."""
    while s.call_depth > 0 and s.call_sp[(s.call_depth - 1) % CALL_RING] < s.sp:
        s.call_depth -= 1


@njit
def call(s, target):
    origin = np.int64(s.pc)
    push16(s, origin)
    s.pc = target
    if s.debug & DEBUG_CALLS:
        note_call(s, origin)


@njit
def ret(s):
    s.pc = pop16(s)
    tick(s)
    if s.debug & DEBUG_CALLS:
        note_return(s)


# x=3 is split by z into small functions. numba zero-fills two stack slots
# for every call site of a function on entry to it, so one big function with
# thirty call sites pays sixty stores for every instruction it runs; small
# ones pay only for their own.

@njit
def x3_z0(s, y):
    if y == 4:                                          # LDH [a8],A
        write(s, 0xFF00 | fetch8(s), np.int64(s.r8[REG_A]))
    elif y == 6:                                        # LDH A,[a8]
        s.r8[REG_A] = read(s, 0xFF00 | fetch8(s))
    elif y < 4:                                         # RET cc
        ret_if(s, y)
    else:
        sp_offset_op(s, y)


@njit
def ret_if(s, cc):
    tick(s)
    if condition(s, cc):
        ret(s)


@njit
def sp_offset_op(s, y):
    if y == 5:                                          # ADD SP,e8
        result = add_sp_offset(s)
        tick(s)
        tick(s)
        s.sp = result
    else:                                               # LD HL,SP+e8
        result = add_sp_offset(s)
        tick(s)
        set_rp(s, RP_HL, result)


@njit
def x3_z1(s, y):
    p = y >> 1
    if not y & 1:                                       # POP rr
        value = pop16(s)
        if p == 3:
            s.r8[REG_A] = value >> 8
            s.r8[REG_F] = value & 0xF0
        else:
            set_rp(s, p, value)
    elif p == 0:                                        # RET
        ret(s)
    elif p == 1:                                        # RETI
        ret(s)
        s.ime = 1
    elif p == 2:                                        # JP HL
        s.pc = get_rp(s, RP_HL)
    else:                                               # LD SP,HL
        tick(s)
        s.sp = get_rp(s, RP_HL)


@njit
def x3_z2(s, y):
    if y < 4:                                           # JP cc,a16
        target = fetch16(s)
        if condition(s, y):
            tick(s)
            s.pc = target
    elif y == 4:                                        # LD [C],A
        write(s, 0xFF00 | np.int64(s.r8[REG_C]), np.int64(s.r8[REG_A]))
    elif y == 5:                                        # LD [a16],A
        write(s, fetch16(s), np.int64(s.r8[REG_A]))
    elif y == 6:                                        # LD A,[C]
        s.r8[REG_A] = read(s, 0xFF00 | np.int64(s.r8[REG_C]))
    else:                                               # LD A,[a16]
        s.r8[REG_A] = read(s, fetch16(s))


@njit
def x3_z3(s, y):
    if y == 0:                                          # JP a16
        target = fetch16(s)
        tick(s)
        s.pc = target
    elif y == 1:
        exec_cb(s)
    elif y == 6:                                        # DI
        s.ime = 0
        s.ime_pending = 0
    elif y == 7:                                        # EI
        s.ime_pending = 1
    else:
        lock_up(s)


@njit
def x3_z45(s, y, z):
    """z=4: CALL cc,a16; z=5: PUSH rr, CALL a16."""
    p = y >> 1
    if z == 4:
        if y < 4:                                       # CALL cc,a16
            target = fetch16(s)
            if condition(s, y):
                call(s, target)
        else:
            lock_up(s)
    elif not y & 1:                                     # PUSH rr
        if p == 3:
            value = (np.int64(s.r8[REG_A]) << 8) | np.int64(s.r8[REG_F])
        else:
            value = get_rp(s, p)
        push16(s, value)
    elif p == 0:                                        # CALL a16
        call(s, fetch16(s))
    else:
        lock_up(s)


@njit
def lock_up(s):
    """An unused opcode: the CPU stops for good; interrupts cannot wake it."""
    s.locked = 1
    s.events |= EV_ILLEGAL


@njit
def exec_x3(s, op):
    y = (op >> 3) & 7
    z = op & 7
    if z == 0:
        x3_z0(s, y)
    elif z == 1:
        x3_z1(s, y)
    elif z == 2:
        x3_z2(s, y)
    elif z == 3:
        x3_z3(s, y)
    elif z == 6:                                        # ALU A,n8
        alu(s, y, fetch8(s))
    elif z == 7:                                        # RST
        call(s, y * 8)
    else:
        x3_z45(s, y, z)


# -- interrupts, HALT, STOP ------------------------------------------------

@njit
def dispatch_interrupt(s):
    """Five M-cycles: two idle, push PC high, choose the vector, push PC low.

    The vector is chosen after the high byte is pushed, so a push that
    overwrites IE can cancel the dispatch; PC then becomes $0000.
    """
    s.ime = 0
    tick(s)
    tick(s)
    idu_glitch(s, np.int64(s.sp))
    pc = np.int64(s.pc)
    sp = (np.int64(s.sp) - 1) & 0xFFFF
    write(s, sp, pc >> 8)
    pending = np.int64(s.ie) & np.int64(s.io[R_IF]) & 0x1F
    sp = (sp - 1) & 0xFFFF
    write(s, sp, pc & 0xFF)
    s.sp = sp
    if pending == 0:
        s.pc = 0
    else:
        bit = pending & -pending
        s.io[R_IF] = s.io[R_IF] & ~bit
        vector = 0x40
        while bit > 1:
            bit >>= 1
            vector += 8
        s.pc = vector
    tick(s)
    if s.debug & DEBUG_CALLS:
        note_call(s, pc)


@njit
def sleep_until(s, target):
    """Let time pass in whole M-cycles up to the next event or the target."""
    until = min(s.next_event, target)
    if s.eager:
        until = min(s.clock + 4, target)   # eager mode predicts nothing: one M-cycle at a time
    if until > s.clock:
        s.clock += (until - s.clock + 3) & ~3
    sync(s)


@njit
def sleep_or_interrupt(s, target, pending):
    """The rare part of a step: HALT, STOP, a locked CPU, an interrupt dispatch.

    Returns whether the step is spent; False lets the CPU go on to execute an
    instruction (a HALT woken with IME off, a STOP ended by a button).
    """
    if s.halted:
        if not pending:
            sleep_until(s, target)
            return True
        s.halted = 0
        if s.debug & DEBUG_EXEC:
            return True  # under the debugger, waking is a step: the run loop checks PC
    if s.locked or s.stopped:
        if s.stopped and s.buttons:
            s.stopped = 0
        else:
            sleep_until(s, target)
            return True
    if s.ime and pending:
        dispatch_interrupt(s)
        return True
    return False


@njit
def step(s, target):
    """One instruction, one interrupt dispatch, or a stretch of sleep."""
    pending = np.int64(s.ie) & np.int64(s.io[R_IF]) & 0x1F
    if s.halted or s.locked or s.stopped or (s.ime and pending):
        if sleep_or_interrupt(s, target, pending):
            return
    if s.ime_pending:
        s.ime = 1
        s.ime_pending = 0
    op = fetch8(s)
    s.opcode = op
    s.instructions += 1
    x = op >> 6
    if x == 1:
        if op == OP_HALT:
            # With IME off and an interrupt already pending, HALT does not
            # halt: the HALT bug makes the next opcode byte be read twice.
            if not s.ime and np.int64(s.ie) & np.int64(s.io[R_IF]) & 0x1F:
                s.halt_bug = 1
            else:
                s.halted = 1
        else:
            if op == OP_LD_B_B and s.break_on_ld_b_b:
                s.events |= EV_BREAKPOINT
            set_r(s, (op >> 3) & 7, get_r(s, op & 7))
    elif x == 2:
        alu(s, (op >> 3) & 7, get_r(s, op & 7))
    elif x == 0:
        exec_x0(s, op)
    else:
        exec_x3(s, op)


# -- entry points ----------------------------------------------------------

@njit(cache=True)
def run(st, target, max_steps):
    """Run until the clock reaches target (T-cycles), max_steps instructions
    have run (an interrupt dispatch or a stretch of HALT counts as one), or a
    masked event is raised.

    Returns the events raised, EV_TARGET included when the target was reached.
    """
    s = st[0]
    s.events = 0
    update_bus_special(s)
    schedule(s)
    steps = 0
    while s.clock < target and steps < max_steps:
        step(s, target)
        steps += 1
        if s.debug & DEBUG_EXEC and s.debug_map[s.pc] & BP_EXEC and not s.halted:
            # The instruction at PC is next; a HALT's sleep is not a new arrival.
            s.events |= EV_BREAKPOINT
            break
        if s.events & s.event_mask:
            break
    if s.clock >= target:
        s.events |= EV_TARGET
    return s.events


NO_STEP_LIMIT = 1 << 62
LONGEST_SLEEP = 1 << 24   # T-cycles a single step may sleep in HALT (4 s)


def run_instructions(st, count):
    """Execute count instructions (or interrupt dispatches), for tests and the debugger."""
    return run(st, int(st[0]["clock"]) + LONGEST_SLEEP, int(count))


@njit(cache=True)
def sync_all(st):
    """Bring every unit up to the CPU's clock (before Python looks at I/O)."""
    sync(st[0])


@njit(cache=True)
def peek_byte(st, addr):
    """The byte the CPU would read at addr, with no time passing (debugger, API)."""
    return peek(st[0], addr & 0xFFFF)


@njit(cache=True)
def reset_cartridge(st):
    cart_reset(st[0])
