"""The audio processing unit: four channels, the frame sequencer, the mixer.

Channels 1 and 2 play a pulse wave (four duties) with a volume envelope;
channel 1 also sweeps its frequency. Channel 3 plays 32 4-bit samples from
wave RAM, channel 4 noise from a 15- or 7-bit LFSR. Each channel's
frequency timer is held as the absolute time of its next expiry (ch_next),
so any span of time can be crossed in one step of arithmetic.

The frame sequencer is clocked by the falling edge of system-counter bit 12
(DIV bit 4, 512 Hz): steps 0, 2, 4, 6 clock the length counters, 2 and 6 the
sweep, 7 the envelopes. Writing DIV can make that bit fall, and so tick it
(timer.counter_write calls apu_div_reset).

Catch-up: apu_sync runs the APU from apu_clock to the CPU's clock when a
sound register is touched, when DIV is written, and, while samples are being
generated, whenever the bus syncs its units. With audio off only what the
CPU can observe is kept: length counters, sweep and envelope, the wave
channel's position; no samples are mixed.

Samples: with audio on, the four channel outputs are mixed through NR51's
panning and NR50's volume and averaged over every 64 T-cycles (an exact box
filter, which also damps the ultrasonic content before Python's resampler),
giving stereo int16 at 65,536 Hz into the ring audio_buf. Why 64 T-cycles:
a power-of-two division keeps sample boundaries on the clock (a mask, no
division) and makes a frame sequencer tick exactly 128 samples; /128 would
put the Nyquist frequency (16 kHz) inside the audible band, and /96 (43.7 kHz,
not a whole number) leaves the device resampler under 2 kHz of transition
band above 20 kHz, where /64 leaves 12 kHz.
"""

import numpy as np
from numba import njit

from gbemu.core.hwio import (
    IO_BASE, NR52, WAVE_START, EV_AUDIO,
)
from gbemu.core.hwio import (  # io-field offsets
    R_NR10, R_NR13, R_NR14, R_NR30, R_NR32, R_NR43, R_NR50, R_NR51, R_NR52, R_WAVE,
)
from gbemu.core.state import AUDIO_BUFFER_FRAMES

NEVER = np.int64(1) << 62

SAMPLE_CYCLES = 64                 # T-cycles per output sample: 65,536 Hz
AUDIO_RATE = 4_194_304 // SAMPLE_CYCLES
SAMPLE_SHIFT = 1                   # full mix (4 channels x 15 x volume 8) to about +-15,000
AUDIO_NEARLY_FULL = AUDIO_BUFFER_FRAMES * 3 // 4
FS_PERIOD = 1 << 13                # system-counter bit 12 falls every 8192 T-cycles
FS_BIT = 12

CH_STRIDE = 5                      # channel c's NRc0..NRc4 are at R_NR10 + 5 c + 0..4
WAVE_CHANNEL = 2
NOISE_CHANNEL = 3

POWER = 0x80                       # NR52
TRIGGER = 0x80                     # NRx4
LENGTH_ENABLE = 0x40               # NRx4
DAC_BITS = 0xF8                    # NRx2: volume or envelope direction nonzero = DAC on
WAVE_DAC = 0x80                    # NR30

# Duty waveforms, one byte per duty, bit i = step i is high:
# 12.5 % (step 7), 25 % (0, 7), 50 % (0, 5-7), 75 % (1-6).
DUTY_PATTERNS = 0x7EE18180

# After a trigger, channel 3's first wave RAM read comes one period plus this
# many T-cycles after the CPU's write (as the CPU sees time: at the end of the
# write's M-cycle). Which T-cycle of the M-cycle does the APU latch the write
# on? 6 is what makes reads, writes and retriggers while the channel plays
# come out as on a DMG (Blargg's dmg_sound 09, 10 and 12 check all three).
WAVE_TRIGGER_DELAY = 6
# While channel 3 plays, the CPU reaches wave RAM only within this many
# T-cycles after the channel read it, and then reaches the byte just read;
# a retrigger this close before a read corrupts the first bytes (DMG).
WAVE_ACCESS_WINDOW = 2


@njit
def timer_period(s, c):
    """T-cycles between two expiries of channel c's frequency timer."""
    base = R_NR10 + CH_STRIDE * c
    if c == NOISE_CHANNEL:
        nr43 = np.int64(s.io[R_NR43])
        shift = nr43 >> 4
        if shift >= 14:
            return NEVER            # clock shifts 14 and 15 never clock the LFSR
        divider = nr43 & 7
        return (16 * divider if divider else 8) << shift
    freq = ((np.int64(s.io[base + 4]) & 7) << 8) | np.int64(s.io[base + 3])
    return (2048 - freq) * (2 if c == WAVE_CHANNEL else 4)


@njit
def channel_expire(s, c, n):
    """Channel c's frequency timer expires n times, the first at ch_next."""
    period = timer_period(s, c)
    last = s.ch_next[c] + (n - 1) * period
    s.ch_next[c] = last + period
    if c == WAVE_CHANNEL:
        pos = (s.ch_pos[c] + n) & 31
        s.ch_pos[c] = pos
        s.wave_sample = s.io[R_WAVE + (pos >> 1)]
        s.wave_read_at = last
    elif c == NOISE_CHANNEL:
        # Only heard, never read back: a skipped stretch leaves the LFSR as it is.
        if n == 1:
            lfsr = s.lfsr
            bit = (lfsr ^ (lfsr >> 1)) & 1
            lfsr = (lfsr >> 1) | (bit << 14)
            if s.io[R_NR43] & 0x08:
                lfsr = (lfsr & ~0x40) | (bit << 6)
            s.lfsr = lfsr
    else:
        s.ch_pos[c] = (s.ch_pos[c] + n) & 7


@njit
def mix(s):
    """The left and right outputs now: DAC levels panned by NR51, scaled by NR50.

    A DAC maps digital 0..15 to +15..-15; a DAC that is off outputs 0.
    """
    panning = np.int64(s.io[R_NR51])
    left = 0
    right = 0
    for c in range(4):
        base = R_NR10 + CH_STRIDE * c
        level = 0
        if c == WAVE_CHANNEL:
            if not s.io[R_NR30] & WAVE_DAC:
                continue
            code = (np.int64(s.io[R_NR32]) >> 5) & 3
            if s.ch_on[c] and code:
                sample = np.int64(s.wave_sample)
                nibble = sample & 15 if s.ch_pos[c] & 1 else sample >> 4
                level = nibble >> (code - 1)
        else:
            if not np.int64(s.io[base + 2]) & DAC_BITS:
                continue
            if s.ch_on[c]:
                if c == NOISE_CHANNEL:
                    high = (s.lfsr & 1) ^ 1
                else:
                    duty = np.int64(s.io[base + 1]) >> 6
                    high = (DUTY_PATTERNS >> (duty * 8 + s.ch_pos[c])) & 1
                if high:
                    level = s.ch_volume[c]
        out = 15 - 2 * level
        if panning & (0x10 << c):
            left += out
        if panning & (1 << c):
            right += out
    volume = np.int64(s.io[R_NR50])
    return left * (((volume >> 4) & 7) + 1), right * ((volume & 7) + 1)


@njit
def apu_run(s, end):
    """Run the channel timers from apu_clock to end; with audio on, mix samples.

    Registers, envelopes and the sequencer hold still from apu_clock to end.
    A channel that cannot be heard over that span (audio off, not panned,
    volume 0) crosses it in one step of arithmetic; the others step from
    expiry to expiry while the mix is averaged into samples.
    """
    heard = 0
    if s.audio_enabled:
        panning = np.int64(s.io[R_NR51])
        for c in range(4):
            if s.ch_on[c] and panning & (0x11 << c):
                if c == WAVE_CHANNEL:
                    loud = np.int64(s.io[R_NR32]) & 0x60
                else:
                    loud = s.ch_volume[c]
                if loud:
                    heard |= 1 << c
    for c in range(4):
        if s.ch_on[c] and not (heard >> c) & 1 and s.ch_next[c] <= end:
            channel_expire(s, c, (end - s.ch_next[c]) // timer_period(s, c) + 1)
    if not s.audio_enabled:
        s.apu_clock = end
        return
    t = s.apu_clock
    acc_left = s.audio_acc[0]
    acc_right = s.audio_acc[1]
    left, right = mix(s)
    next_expiry = NEVER
    for c in range(4):
        if (heard >> c) & 1 and s.ch_next[c] < next_expiry:
            next_expiry = s.ch_next[c]
    while t < end:
        # Levels hold until the next sample boundary or channel timer expiry.
        stop = min(end, (t | (SAMPLE_CYCLES - 1)) + 1, next_expiry)
        acc_left += left * (stop - t)
        acc_right += right * (stop - t)
        t = stop
        if t == next_expiry:
            next_expiry = NEVER
            for c in range(4):
                if (heard >> c) & 1:
                    if s.ch_next[c] == t:
                        channel_expire(s, c, np.int64(1))
                    if s.ch_next[c] < next_expiry:
                        next_expiry = s.ch_next[c]
            left, right = mix(s)
        if t & (SAMPLE_CYCLES - 1) == 0:
            slot = s.audio_write & (AUDIO_BUFFER_FRAMES - 1)
            s.audio_buf[slot, 0] = acc_left >> SAMPLE_SHIFT
            s.audio_buf[slot, 1] = acc_right >> SAMPLE_SHIFT
            acc_left = 0
            acc_right = 0
            s.audio_write += 1
            if s.audio_write - s.audio_read == AUDIO_NEARLY_FULL:
                s.events |= EV_AUDIO
    s.audio_acc[0] = acc_left
    s.audio_acc[1] = acc_right
    s.apu_clock = end


@njit
def sweep_next(s):
    """Channel 1's next sweep frequency; above 2047 the channel stops."""
    nr10 = np.int64(s.io[R_NR10])
    delta = s.sweep_freq >> (nr10 & 7)
    if nr10 & 0x08:
        s.sweep_negated = 1
        freq = s.sweep_freq - delta
    else:
        freq = s.sweep_freq + delta
    if freq > 2047:
        s.ch_on[0] = 0
    return freq


@njit
def frame_sequencer_step(s):
    """One 512 Hz step: lengths on even steps, sweep on 2 and 6, envelopes on 7."""
    step = s.fs_step
    s.fs_step = (step + 1) & 7
    if step & 1 == 0:
        for c in range(4):
            control = np.int64(s.io[R_NR10 + CH_STRIDE * c + 4])
            if control & LENGTH_ENABLE and s.ch_length[c] > 0:
                s.ch_length[c] -= 1
                if s.ch_length[c] == 0:
                    s.ch_on[c] = 0
    if step == 2 or step == 6:
        s.sweep_timer -= 1
        if s.sweep_timer <= 0:
            nr10 = np.int64(s.io[R_NR10])
            pace = (nr10 >> 4) & 7
            s.sweep_timer = pace if pace else 8
            if s.sweep_enabled and pace:
                freq = sweep_next(s)
                if freq <= 2047 and nr10 & 7:
                    s.sweep_freq = freq
                    s.io[R_NR13] = freq & 0xFF
                    s.io[R_NR14] = (np.int64(s.io[R_NR14]) & 0xF8) | (freq >> 8)
                    sweep_next(s)       # checked again at once, not written back
    elif step == 7:
        for c in range(4):
            if c == WAVE_CHANNEL:
                continue
            envelope = np.int64(s.io[R_NR10 + CH_STRIDE * c + 2])
            pace = envelope & 7
            if pace == 0:
                continue
            s.ch_env_timer[c] -= 1
            if s.ch_env_timer[c] <= 0:
                s.ch_env_timer[c] = pace
                volume = s.ch_volume[c] + (1 if envelope & 0x08 else -1)
                if 0 <= volume <= 15:
                    s.ch_volume[c] = volume


@njit
def apu_sync(s):
    """Bring the APU up to s.clock, ticking the frame sequencer on the way.

    The system counter at apu_clock is worked back from the timer's: the
    two count together except when DIV is written, and a DIV write brings
    the APU up to date first.
    """
    while s.apu_clock < s.clock:
        counter = (s.sys_counter - (s.timer_clock - s.apu_clock)) & 0xFFFF
        tick_at = s.apu_clock + FS_PERIOD - (counter & (FS_PERIOD - 1))
        if tick_at > s.clock:
            apu_run(s, s.clock)
            return
        apu_run(s, tick_at)
        if s.io[R_NR52] & POWER:
            frame_sequencer_step(s)


@njit
def apu_div_reset(s, old_counter, new_counter):
    """The system counter jumps (DIV write, STOP): bit 12 falling ticks the sequencer."""
    apu_sync(s)
    falls = ((old_counter >> FS_BIT) & 1) == 1 and ((new_counter >> FS_BIT) & 1) == 0
    if falls and s.io[R_NR52] & POWER:
        frame_sequencer_step(s)


@njit
def apu_next_event(s):
    """When the ring will be nearly full, if run() is to stop for that."""
    if not s.audio_enabled or not s.event_mask & EV_AUDIO:
        return NEVER
    missing = AUDIO_NEARLY_FULL - (s.audio_write - s.audio_read)
    if missing <= 0:
        return NEVER
    return (s.apu_clock // SAMPLE_CYCLES + missing) * SAMPLE_CYCLES


@njit
def apu_read(s, addr):
    """A CPU read of $FF10-$FF3F: unused bits read 1, NR52 shows the channels.

    While channel 3 plays, the CPU reaches wave RAM only right after the
    channel read it, and then reads the byte just read (DMG); else $FF.
    """
    apu_sync(s)
    reg = addr - IO_BASE
    if addr == NR52:
        on = (np.int64(s.ch_on[0]) | (np.int64(s.ch_on[1]) << 1)
              | (np.int64(s.ch_on[2]) << 2) | (np.int64(s.ch_on[3]) << 3))
        return (np.int64(s.io[R_NR52]) & POWER) | 0x70 | on
    if addr >= WAVE_START and s.ch_on[WAVE_CHANNEL]:
        if 0 <= s.clock - s.wave_read_at < WAVE_ACCESS_WINDOW:
            return np.int64(s.io[R_WAVE + (s.ch_pos[WAVE_CHANNEL] >> 1)])
        return np.int64(0xFF)
    return np.int64(s.io[reg]) | np.int64(s.io_unused[reg])


@njit
def apu_write(s, addr, value):
    """A CPU write to $FF10-$FF3F."""
    apu_sync(s)
    reg = addr - IO_BASE
    powered = s.io[R_NR52] & POWER
    if addr >= WAVE_START:
        # While channel 3 plays, as for reads: only the byte just read, only then.
        if not s.ch_on[WAVE_CHANNEL]:
            s.io[reg] = value
        elif 0 <= s.clock - s.wave_read_at < WAVE_ACCESS_WINDOW:
            s.io[R_WAVE + (s.ch_pos[WAVE_CHANNEL] >> 1)] = value
        return
    if addr == NR52:
        if value & POWER and not powered:
            # Power on: the sequencer's next step is 0, duty steps and the
            # wave sample buffer start afresh.
            s.io[R_NR52] = POWER
            s.fs_step = 0
            s.ch_pos[0] = 0
            s.ch_pos[1] = 0
            s.wave_sample = 0
        elif powered and not value & POWER:
            # Power off clears NR10-NR51 and stops everything; on DMG the
            # length counters keep their values.
            for r in range(R_NR10, R_NR52 + 1):
                s.io[r] = 0
            for c in range(4):
                s.ch_on[c] = 0
                s.ch_volume[c] = 0
            s.sweep_enabled = 0
            s.sweep_negated = 0
        return
    if reg >= R_NR50:
        if powered and reg <= R_NR51:
            s.io[reg] = value
        return                          # $FF27-$FF2F: nothing there
    c = (reg - R_NR10) // CH_STRIDE
    field = (reg - R_NR10) % CH_STRIDE
    length_max = 256 if c == WAVE_CHANNEL else 64
    if field == 1:
        # The length counter loads even while the APU is off (DMG).
        s.ch_length[c] = length_max - (value & (length_max - 1))
    if not powered:
        return
    old = np.int64(s.io[reg])
    s.io[reg] = value
    if field == 0:
        if c == 0 and s.sweep_negated and not value & 0x08:
            s.ch_on[0] = 0                # leaving subtraction after using it stops ch1
        elif c == WAVE_CHANNEL and not value & WAVE_DAC:
            s.ch_on[c] = 0
    elif field == 2:
        if c != WAVE_CHANNEL and not value & DAC_BITS:
            s.ch_on[c] = 0
    elif field == 3:
        if c == NOISE_CHANNEL and s.ch_next[c] - s.clock >= NEVER >> 1:
            s.ch_next[c] = s.clock + timer_period(s, c)   # a stopped clock restarts
    elif field == 4:
        # Enabling length when the next sequencer step skips length clocks it once.
        skips_length = s.fs_step & 1
        if (skips_length and not old & LENGTH_ENABLE and value & LENGTH_ENABLE
                and s.ch_length[c] > 0):
            s.ch_length[c] -= 1
            if s.ch_length[c] == 0 and not value & TRIGGER:
                s.ch_on[c] = 0
        if value & TRIGGER:
            trigger(s, c, value & LENGTH_ENABLE and skips_length)


@njit
def trigger(s, c, length_skipped):
    """NRx4 bit 7: (re)start channel c."""
    if s.ch_length[c] == 0:
        s.ch_length[c] = 256 if c == WAVE_CHANNEL else 64
        if length_skipped:
            s.ch_length[c] -= 1     # the frame sequencer's next step skips length
    base = R_NR10 + CH_STRIDE * c
    period = timer_period(s, c)
    if c == WAVE_CHANNEL:
        if s.ch_on[c] and 0 < s.ch_next[c] - s.clock <= WAVE_ACCESS_WINDOW:
            # Retriggered as it reads: the byte (or its aligned block of four)
            # being read is copied over the start of wave RAM (DMG).
            byte = ((s.ch_pos[c] + 1) & 31) >> 1
            if byte < 4:
                s.io[R_WAVE] = s.io[R_WAVE + byte]
            else:
                for i in range(4):
                    s.io[R_WAVE + i] = s.io[R_WAVE + (byte & 0x0C) + i]
        s.ch_pos[c] = 0
        s.ch_next[c] = s.clock + period + WAVE_TRIGGER_DELAY
        s.ch_on[c] = 1 if s.io[R_NR30] & WAVE_DAC else 0
        return
    envelope = np.int64(s.io[base + 2])
    s.ch_volume[c] = envelope >> 4
    s.ch_env_timer[c] = envelope & 7 if envelope & 7 else 8
    s.ch_next[c] = s.clock + period
    if c == NOISE_CHANNEL:
        s.lfsr = 0x7FFF
    s.ch_on[c] = 1 if envelope & DAC_BITS else 0
    if c == 0:
        nr10 = np.int64(s.io[R_NR10])
        pace = (nr10 >> 4) & 7
        s.sweep_freq = ((np.int64(s.io[R_NR14]) & 7) << 8) | np.int64(s.io[R_NR13])
        s.sweep_timer = pace if pace else 8
        s.sweep_enabled = 1 if pace or nr10 & 7 else 0
        s.sweep_negated = 0
        if nr10 & 7:
            sweep_next(s)
