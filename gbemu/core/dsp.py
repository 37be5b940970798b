"""The compiled inner loops of the audio output path (gbemu.audio drives them).

They live under gbemu.core so that the numba cache folder, named after a hash
of the core sources, changes with them. Each takes plain float64/float32
arrays and Python numbers, one specialisation apiece, and writes its result
into an array the caller allocated.

Per emulated frame (1,097 APU samples, about 803 at 48 kHz) the numpy
versions these replaced cost about 180 microseconds, as much as emulating the
frame with sound on; these loops cost a fraction of that.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def high_pass(x, out, charge, factor):
    """First-order high-pass over float64 samples x (n, channels) into out.

    ``out[i] = x[i] - q`` with the charge ``q`` then drifting toward x[i]:
    ``q = factor * q + (1 - factor) * x[i]``. ``charge`` (one per channel)
    carries q from call to call.
    """
    n = x.shape[0]
    for c in range(x.shape[1]):
        q = charge[c]
        for i in range(n):
            v = x[i, c]
            out[i, c] = v - q
            q = factor * q + (1.0 - factor) * v
        charge[c] = q


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
