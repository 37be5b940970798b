"""The compiled inner loops of the audio output path (gbemu.audio drives them).

They live under gbemu.core so that the numba cache folder, named after a hash
of the core sources, changes with them. gbemu.audio hands each one the same
types every time (contiguous arrays, Python floats and ints), so each keeps a
single compiled specialisation.

play_block is the whole path for one frame's samples in one call. Measured
per emulated frame (1,097 APU samples in, about 803 out at 48 kHz): the numpy
code these loops replaced took about 180 microseconds, AudioPipeline.process
now takes about 17, most of it the resampler's 48 taps.
"""

import numpy as np
from numba import njit


# Each sample's charge waits on the one before: the two channels run side by
# side so that their chains overlap, and fastmath fuses each step's multiply
# and add.
@njit(cache=True, fastmath=True)
def high_pass(x, out, charge, factor):
    """First-order high-pass over float64 stereo samples x (n, 2) into out.

    ``out[i] = x[i] - q`` with the charge ``q`` then drifting toward x[i]:
    ``q = factor * q + (1 - factor) * x[i]``. ``charge`` (one per channel)
    carries q from call to call.
    """
    q_left = charge[0]
    q_right = charge[1]
    rest = 1.0 - factor
    for i in range(x.shape[0]):
        left = x[i, 0]
        right = x[i, 1]
        out[i, 0] = left - q_left
        out[i, 1] = right - q_right
        q_left = factor * q_left + rest * left
        q_right = factor * q_right + rest * right
    charge[0] = q_left
    charge[1] = q_right


# fastmath lets LLVM reorder the sum of each output's taps into SIMD lanes;
# added strictly in order, each output waits on 48 dependent additions. Sums
# in float32 (as the table and the input are) run twice as many lanes: their
# rounding, about 1e-7 of full scale, is far below int16's step.
@njit(cache=True, fastmath=True)
def resample(buf, table, first_offset, position, step, out):
    """Polyphase FIR: out[k, 0:2] from buf[0:2] around ``position + step * k``.

    buf (2, m) float32 holds the stereo input; table (phases + 1, taps)
    float32 the filter, one row per fraction of an input sample (the nearest
    is used); first_offset is the first tap's index relative to
    floor(position).
    """
    phases = table.shape[0] - 1
    taps = table.shape[1]
    for k in range(out.shape[0]):
        at = position + step * k
        base = np.int64(np.floor(at))
        phase = np.int64(np.rint((at - base) * phases))
        first = base + first_offset
        row = table[phase]
        left = buf[0, first:first + taps]
        right = buf[1, first:first + taps]
        sum_left = np.float32(0.0)
        sum_right = np.float32(0.0)
        for t in range(taps):
            sum_left += row[t] * left[t]
            sum_right += row[t] * right[t]
        out[k, 0] = sum_left
        out[k, 1] = sum_right


@njit(cache=True)
def resample_block(history, x, table, first_offset, position, step):
    """Resample float64 stereo x (n, 2) after the input kept in history (2, taps).

    position is the next output's place in history's indices, step the input
    samples per output. Every output whose taps all lie within history and x
    is made. history then holds the last ``taps`` inputs. Returns the outputs
    (count, 2) float64 and the next output's position in the new history.
    """
    n = x.shape[0]
    taps = history.shape[1]
    buf = np.empty((2, taps + n), np.float32)
    buf[:, :taps] = history
    for i in range(n):
        buf[0, taps + i] = x[i, 0]
        buf[1, taps + i] = x[i, 1]
    last = taps + n - taps // 2 - 1             # the highest usable floor(position)
    count = 0
    if position <= last:
        count = max(0, np.int64(np.floor((last + 1 - position) / step - 1e-9)) + 1)
    out = np.empty((count, 2))
    resample(buf, table, first_offset, position, step, out)
    history[:, :] = buf[:, n:]
    return out, position + step * count - n


@njit(cache=True)
def to_int16(x, gain, out):
    """Scale float64 samples by gain, round half to even, clip into int16 out.

    Returns how many rows (stereo samples) had to be clipped.
    """
    clipped = 0
    for i in range(x.shape[0]):
        over = False
        for c in range(x.shape[1]):
            v = np.rint(x[i, c] * gain)
            if v > 32767.0:
                v = 32767.0
                over = True
            elif v < -32768.0:
                v = -32768.0
                over = True
            out[i, c] = np.int16(v)
        if over:
            clipped += 1
    return clipped


@njit(cache=True)
def play_block(samples, charge, factor, history, table, first_offset, position, step, gain):
    """The whole path for one block of APU samples: high_pass, resample_block, to_int16.

    samples is int16 (n, 2); returns (int16 output, next position, rows clipped).
    """
    x = samples.astype(np.float64)
    filtered = np.empty_like(x)
    high_pass(x, filtered, charge, factor)
    out, position = resample_block(history, filtered, table, first_offset, position, step)
    result = np.empty((out.shape[0], 2), np.int16)
    clipped = to_int16(out, gain, result)
    return result, position, clipped
