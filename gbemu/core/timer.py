"""The 16-bit system counter, the timer (DIV, TIMA, TMA, TAC) and the serial clock.

The system counter advances by 4 every M-cycle; DIV is its upper byte. TIMA
counts falling edges of one counter bit (chosen by TAC) ANDed with TAC's
enable bit, so writing DIV or TAC can itself produce an edge. When TIMA
overflows it reads $00 for one M-cycle, then TMA is loaded and the timer
interrupt is requested; a TIMA write in the first M-cycle cancels the reload,
and in the reload M-cycle TIMA follows TMA.

The serial port's internal 8192 Hz clock is a falling edge of counter bit 8,
so it lives here too: one counter, every unit it clocks. The APU's frame
sequencer (bit 12) works its edges out from the counter itself (apu.py);
only a jump of the counter is reported to it, from counter_write.

Catch-up: the counter is brought up to date only when a register is touched
or a predicted event (an overflow, the end of a transfer) falls due. Runs of
M-cycles without an event are skipped arithmetically.
"""

import numpy as np
from numba import njit

from gbemu.core.hwio import (
    DIV, TIMA, TMA, INT_TIMER, INT_SERIAL, TAC_ENABLE, SC_TRANSFER,
)
from gbemu.core.hwio import (  # io-field offsets
    R_IF, R_SB, R_SC, R_TAC, R_TIMA, R_TMA,
)
from gbemu.core.apu import apu_div_reset

NEVER = np.int64(1) << 62


SERIAL_SHIFT = 9     # a serial bit per falling edge of counter bit 8
# The serial clock sees the counter one M-cycle ahead of DIV: with both
# readings taken after boot, the transfer ends one M-cycle before bit 8 of
# the counter (as DIV shows it) falls. Which T-cycle does the serial
# circuit sample? The offset below is the measured answer at M-cycle scale.
SERIAL_PHASE = 4


@njit
def tac_shift(tac):
    """log2 of the counter period between TIMA increments for a TAC value."""
    sel = tac & 3
    if sel == 0:
        return 10    # 4096 Hz: bit 9
    if sel == 1:
        return 4     # 262144 Hz: bit 3
    if sel == 2:
        return 6     # 65536 Hz: bit 5
    return 8         # 16384 Hz: bit 7


@njit
def timer_signal(counter, tac):
    """The AND of TAC's enable and the selected counter bit."""
    if tac & TAC_ENABLE:
        return (counter >> (tac_shift(tac) - 1)) & 1
    return 0


@njit
def tima_increment(s):
    tima = (np.int64(s.io[R_TIMA]) + 1) & 0xFF
    s.io[R_TIMA] = tima
    if tima == 0:
        s.tima_reload = 1


@njit
def serial_edges(s, n):
    """Shift n bits of the transfer in progress; no partner, so 1s come in."""
    if s.serial_bits <= 0 or n <= 0:
        return
    shifted = min(n, s.serial_bits)
    s.io[R_SB] = ((np.int64(s.io[R_SB]) << shifted) | ((1 << shifted) - 1)) & 0xFF
    s.serial_bits -= shifted
    if s.serial_bits == 0:
        s.io[R_SC] = s.io[R_SC] & ~SC_TRANSFER
        s.io[R_IF] = s.io[R_IF] | INT_SERIAL


@njit
def serial_falling_edge(old_counter, new_counter):
    """1 when the serial clock (counter bit 8, see SERIAL_PHASE) falls, else 0."""
    old_bit = ((old_counter + SERIAL_PHASE) >> 8) & 1
    new_bit = ((new_counter + SERIAL_PHASE) >> 8) & 1
    return old_bit & (new_bit ^ 1)


@njit
def counter_step(s):
    """One M-cycle of the system counter, TIMA's reload and the serial clock."""
    old = s.sys_counter
    new = (old + 4) & 0xFFFF
    s.sys_counter = new
    if s.tima_reload == 1:
        s.io[R_TIMA] = s.io[R_TMA]
        s.io[R_IF] = s.io[R_IF] | INT_TIMER
        s.tima_reload = 2
    elif s.tima_reload == 2:
        s.tima_reload = 0
    tac = np.int64(s.io[R_TAC])
    if timer_signal(old, tac) and not timer_signal(new, tac):
        tima_increment(s)
    if s.serial_bits > 0:
        serial_edges(s, serial_falling_edge(old, new))
    s.timer_clock += 4


@njit
def mcycles_to_overflow(s):
    """M-cycles from timer_clock until the step in which TIMA overflows."""
    tac = np.int64(s.io[R_TAC])
    if not tac & TAC_ENABLE:
        return NEVER
    shift = tac_shift(tac)
    period = np.int64(1) << shift
    first = period - (s.sys_counter & (period - 1))
    return (first + (255 - np.int64(s.io[R_TIMA])) * period) >> 2


@njit
def mcycles_to_serial_done(s):
    if s.serial_bits <= 0:
        return NEVER
    period = np.int64(1) << SERIAL_SHIFT
    first = period - ((s.sys_counter + SERIAL_PHASE) & (period - 1))
    return (first + (s.serial_bits - 1) * period) >> 2


@njit
def timer_sync(s):
    """Bring the counter, timer and serial clock up to s.clock."""
    while s.timer_clock < s.clock:
        remaining = (s.clock - s.timer_clock) >> 2
        if s.tima_reload == 0:
            # Skip arithmetically up to the step before the next overflow or
            # the last serial bit, which need the careful M-cycle step.
            skip = min(remaining, mcycles_to_overflow(s) - 1,
                       mcycles_to_serial_done(s) - 1)
            if skip > 0:
                tac = np.int64(s.io[R_TAC])
                if tac & TAC_ENABLE:
                    shift = tac_shift(tac)
                    edges = ((s.sys_counter + 4 * skip) >> shift) - (s.sys_counter >> shift)
                    s.io[R_TIMA] = np.int64(s.io[R_TIMA]) + edges
                serial = s.sys_counter + SERIAL_PHASE
                serial_edges(s, ((serial + 4 * skip) >> SERIAL_SHIFT) - (serial >> SERIAL_SHIFT))
                s.sys_counter = (s.sys_counter + 4 * skip) & 0xFFFF
                s.timer_clock += 4 * skip
                continue
        counter_step(s)


@njit
def timer_next_event(s):
    """Time at which the timer or serial port will next request an interrupt."""
    if s.tima_reload != 0:
        return s.timer_clock + 4
    soonest = min(mcycles_to_overflow(s) + 1, mcycles_to_serial_done(s))
    if soonest >= NEVER:
        return NEVER
    return s.timer_clock + 4 * soonest


@njit
def counter_write(s, new_counter, new_tac):
    """Change the counter (a DIV write) or TAC; a falling edge ticks TIMA.

    The APU's frame sequencer counts falling edges of counter bit 12, so a
    jump of the counter goes through apu_div_reset too.
    """
    old_counter = s.sys_counter
    old_tac = np.int64(s.io[R_TAC])
    if new_counter != old_counter:
        apu_div_reset(s, old_counter, new_counter)
    if timer_signal(old_counter, old_tac) and not timer_signal(new_counter, new_tac):
        tima_increment(s)
    if s.serial_bits > 0:
        serial_edges(s, serial_falling_edge(old_counter, new_counter))
    s.sys_counter = new_counter
    s.io[R_TAC] = new_tac | 0xF8


@njit
def timer_write(s, reg, value):
    """A CPU write to DIV, TIMA, TMA or TAC (timer already synced)."""
    if reg == DIV:
        counter_write(s, np.int64(0), np.int64(s.io[R_TAC]))
    elif reg == TIMA:
        if s.tima_reload == 1:
            s.tima_reload = 0          # written in the overflow cycle: reload cancelled
            s.io[R_TIMA] = value
        elif s.tima_reload == 0:
            s.io[R_TIMA] = value
        # in the reload cycle the write is lost: TIMA follows TMA
    elif reg == TMA:
        s.io[R_TMA] = value
        if s.tima_reload == 2:
            s.io[R_TIMA] = value
    else:
        tac_write(s, np.int64(value & 7))


@njit
def tac_write(s, new_tac):
    """A TAC write lands in the middle of its M-cycle, before the counter's
    increment at the M-cycle's end: the timer sees the edge the write makes at
    the counter's previous value, then that increment under the new TAC.

    The sync before the write already counted the increment under the old TAC;
    the difference is made up here (mooneye timer/rapid_toggle: enabling the
    timer in the M-cycle whose increment drops the selected bit ticks TIMA).
    """
    counter = s.sys_counter
    before = (counter - 4) & 0xFFFF
    old_tac = np.int64(s.io[R_TAC])
    counted = timer_signal(before, old_tac) & (timer_signal(counter, old_tac) ^ 1)
    write_edge = timer_signal(before, old_tac) & (timer_signal(before, new_tac) ^ 1)
    step_edge = timer_signal(before, new_tac) & (timer_signal(counter, new_tac) ^ 1)
    due = write_edge + step_edge
    if due > counted:
        tima_increment(s)
    elif due < counted:
        # Only when the frequency changes at the very edge: take back the tick.
        if s.tima_reload == 1:
            s.tima_reload = 0
            s.io[R_TIMA] = 0xFF
        else:
            s.io[R_TIMA] = (np.int64(s.io[R_TIMA]) - 1) & 0xFF
    s.io[R_TAC] = new_tac | 0xF8
