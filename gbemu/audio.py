"""From the APU's samples to a sound device or a WAV file.

The core mixes stereo int16 at 65,536 Hz (``GameBoy.read_samples``), with the
DC offset the DMG's DACs put out. This module does what the hardware after
the mixer and the host's audio path need:

- ``HighPass``: the output capacitor of the DMG, a first-order high-pass
  that drains the DC offset (a charge factor of 0.999958 per T-cycle, about
  28 Hz), so silence is 0 and a DAC switching on or off is a short click.
- ``Resampler``: 65,536 Hz to the device's rate through a polyphase
  windowed-sinc low-pass (48 taps, Kaiser window), whose ratio can be nudged
  from call to call, for rate control.
- ``AudioPipeline``: the two together, with volume and clipping to int16.
- ``AudioOutput``: plays through pygame's mixer, fed once per frame, and
  holds its buffer level by nudging the resampling ratio (at most 1 %);
  while the emulation runs fast it stays silent or plays the sound faster
  and higher ("mute" or "pitch").
- ``volume_gain``: the gain for a volume setting in percent.
- ``WavWriter``: a 16-bit stereo WAV file of what the game played.
- ``feed_every_frame``: hooks sinks (AudioOutput, WavWriter) to a frontend.

Nothing here prints; pygame is imported only by AudioOutput.
"""

from __future__ import annotations

import time
import wave
from collections import deque

import numpy as np

from gbemu.core import dsp

CLOCK_HZ = 4_194_304
APU_RATE = 65_536                 # GameBoy.audio_rate
CHARGE_PER_CYCLE = 0.999958       # the DMG output capacitor, per T-cycle
DEFAULT_DEVICE_RATE = 48_000

TAPS = 48                         # filter length in input samples
PHASES = 1024                     # filter phases between two input samples
KAISER_BETA = 8.0                 # about 80 dB of stopband attenuation
CUTOFF_FRACTION = 0.90            # of the output's Nyquist frequency

MIXER_BUFFER = 512                # samples per SDL mixing callback
MAX_RATE_NUDGE = 0.01             # rate control changes the ratio by at most 1 %
RATE_PROPORTIONAL = 0.05          # ratio change for a level error of one whole target
RATE_INTEGRAL = 0.0001            # added to the standing correction per feed, same units
LEVEL_SMOOTHING = 0.05            # weight of each feed's level error in its running mean
DROP_OVER = 4                     # drop waiting samples once the level is this many targets
DROP_FADE = 256                   # samples crossfaded across a cut (5 ms at 48 kHz)
FAST_FORWARD_MODES = ("mute", "pitch")
SPEED_WINDOW = 0.5                # pitch: the emulation's speed is measured over this (s)


def volume_gain(percent: float) -> float:
    """The gain (0..1) for a volume setting in percent: the square of the fraction.

    Loudness follows the logarithm of the gain, so equal steps of a linear gain
    sound tiny near the top and huge near the bottom; squared, each 10 % step
    from 100 % down is 1.8, 2.0, 2.3, 2.7, 3.2, 3.9, 5, 7 and 12 dB.
    """
    fraction = min(max(float(percent), 0.0), 100.0) / 100.0
    return fraction * fraction


class HighPass:
    """The DMG's output capacitor: out = in - charge, charge drifting toward in.

    Per sample: ``out[n] = in[n] - c[n-1]`` and ``c[n] = R c[n-1] + (1 - R) in[n]``
    with ``R = 0.999958 ** (T-cycles per sample)``, a compiled loop
    (gbemu.core.dsp), the charge carried across calls.
    """

    def __init__(self, rate: float = APU_RATE):
        self.factor = CHARGE_PER_CYCLE ** (CLOCK_HZ / rate)
        self.charge = np.zeros(2)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter stereo samples (n, 2); returns float64 of the same shape."""
        x = np.ascontiguousarray(x, np.float64)
        out = np.empty_like(x)
        dsp.high_pass(x, out, self.charge, self.factor)
        return out


class Resampler:
    """Polyphase windowed-sinc resampler with a ratio that may change per call.

    The low-pass cuts at 90 % of the lower Nyquist frequency; its 48 taps
    with a Kaiser window (beta 8) keep what would fold back into the audible
    band about 80 dB down. Coefficients come from a table of 1024 phases
    between two input samples (the nearest is used: a timing error of at most
    1/2048 sample, below -70 dB for a 5 kHz tone). Stereo; the filter runs
    as a compiled loop (gbemu.core.dsp).
    """

    def __init__(self, in_rate: float = APU_RATE, out_rate: float = DEFAULT_DEVICE_RATE):
        self.in_rate = float(in_rate)
        self.out_rate = float(out_rate)
        self.step = self.in_rate / self.out_rate       # input samples per output sample
        cutoff = CUTOFF_FRACTION * 0.5 * min(self.in_rate, self.out_rate) / self.in_rate
        half = TAPS // 2
        offsets = np.arange(-half + 1, half + 1)      # taps relative to floor(position)
        phases = np.arange(PHASES + 1) / PHASES
        t = offsets[None, :] - phases[:, None]          # distance from the output point
        window = np.i0(KAISER_BETA * np.sqrt(np.clip(1 - (t / half) ** 2, 0, None)))
        table = 2 * cutoff * np.sinc(2 * cutoff * t) * window / np.i0(KAISER_BETA)
        self.table = (table / table.sum(axis=1, keepdims=True)).astype(np.float32)
        self.first_offset = int(offsets[0])
        self.history = np.zeros((2, TAPS), np.float32)
        self.position = float(half - 1)                 # next output, in history's indices

    def process(self, x: np.ndarray, nudge: float = 0.0) -> np.ndarray:
        """Resample stereo float samples (n, 2); ``nudge`` scales the ratio by 1 + nudge
        (positive: fewer output samples)."""
        out, self.position = dsp.resample_block(
            self.history, np.ascontiguousarray(x, np.float64), self.table, self.first_offset,
            self.position, self.step * (1.0 + nudge))
        return out


class AudioPipeline:
    """APU samples in, int16 out: high-pass, resample (unless out_rate is the APU's
    own), volume, clip."""

    def __init__(self, out_rate: float = DEFAULT_DEVICE_RATE, volume: float = 1.0):
        self.out_rate = out_rate
        self.high_pass = HighPass(APU_RATE)
        self.resampler = Resampler(APU_RATE, out_rate) if out_rate != APU_RATE else None
        self.volume = volume
        self.clipped = 0            # output samples that had to be clipped to int16

    def process(self, samples: np.ndarray, nudge: float = 0.0) -> np.ndarray:
        """int16 (n, 2) at 65,536 Hz to int16 (m, 2) at out_rate."""
        if len(samples) == 0:
            return np.zeros((0, 2), np.int16)
        samples = np.ascontiguousarray(samples, np.int16)
        if self.resampler is None:
            out = self.high_pass.process(samples)
            result = np.empty(out.shape, np.int16)
            self.clipped += dsp.to_int16(out, float(self.volume), result)
            return result
        r = self.resampler
        result, r.position, clipped = dsp.play_block(
            samples, self.high_pass.charge, self.high_pass.factor, r.history, r.table,
            r.first_offset, r.position, r.step * (1.0 + nudge), float(self.volume))
        self.clipped += clipped
        return result


class WavWriter:
    """Writes what the game played to a 16-bit stereo WAV file.

    ``rate=None`` keeps the APU's 65,536 Hz (no resampling); otherwise the
    samples are resampled to ``rate``. Use as a context manager or call close().
    """

    def __init__(self, path, rate: int | None = DEFAULT_DEVICE_RATE, volume: float = 1.0):
        self.rate = int(rate or APU_RATE)
        self.pipeline = AudioPipeline(self.rate, volume)
        self.frames_written = 0
        self._stream = open(path, "wb")
        self._file = wave.open(self._stream, "wb")
        self._file.setnchannels(2)
        self._file.setsampwidth(2)
        self._file.setframerate(self.rate)

    @property
    def clipped(self) -> int:
        """Samples that did not fit in 16 bits and were clipped."""
        return self.pipeline.clipped

    def write(self, samples: np.ndarray):
        """Append APU samples (int16 (n, 2) at 65,536 Hz)."""
        out = self.pipeline.process(samples)
        self._file.writeframes(np.ascontiguousarray(out, "<i2").tobytes())
        self.frames_written += len(out)

    feed = write        # the sink interface AudioOutput also has

    def close(self):
        if self._file is not None:
            self._file.close()
            self._stream.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class AudioOutput:
    """Plays the emulator's sound through pygame's mixer.

    Call ``start()`` once, then ``feed(gb.read_samples())`` once per emulated
    frame, and ``stop()`` at the end; ``volume`` (0..1) and ``muted`` can be
    set at any time and act at once, as the mixer channel's gain, not on the
    samples already waiting. Resampled samples wait in a FIFO; whenever the
    mixer's queue slot on our reserved channel is free, everything waiting goes
    to it as one Sound once half of ``target`` is waiting, so most of the buffer
    sits in the mixer, safe from a late frame. Playing starts (and restarts
    after an underrun) once ``target`` samples (80 ms) are waiting.

    ``level`` counts the output samples not yet heard. Rate control: each
    feed nudges the resampling ratio, proportionally and with a slow integral,
    by at most ``max_nudge`` (1 %), to hold ``level`` at ``target``; so a
    frontend paced at 60 Hz instead of 59.73 Hz, or a device clock a little
    off, neither starves nor floods the buffer. The level's error is first
    averaged over about 20 feeds, since the mixer takes samples a whole callback
    buffer (up to 23 ms) at a time. The gains (5 % of ratio per target of
    error, and 0.01 % per feed added to the standing part) put the loop a little
    past critical damping: the level settles in seconds without swinging. The
    earlier 0.5 % and 0.005 % made a loop that rang with a period of about half
    a minute, and on the dummy driver swung the level between 50 and 150 ms,
    with an underrun, within a minute.

    1 % is 17 cents, the most the pitch may be off, and only while a clock
    really is that far off: SDL's dummy driver, which sleeps whole
    milliseconds, has run 0.4 to 0.57 % slow on average here (past the 0.5 %
    this limit once was), and over 1 % slow for a minute at a time; a sound
    card's crystal should be far closer. If the level still runs far over
    (four targets: a stall, a burst of frames, a clock off by more than 1 %),
    the oldest waiting samples are cut back to the target, crossfading over
    the cut.

    ``set_speed`` tells the output how fast the emulation runs. With
    ``fast_forward="mute"`` (the default) any speed but 1 stops the sound at
    once and queues nothing: the music would be unrecognisable anyway, and the
    buffer neither fills nor carries stale sound into normal play, which
    resumes as playing starts, one ``target`` after the speed is back to 1.
    With ``"pitch"`` the emulated sound plays at the speed-up, faster and
    higher, as a tape played fast: the ratio is scaled by the speed, measured
    from the samples arriving per wall second (see ``set_speed``), so the level
    stays where rate control holds it. The low-pass is the one for 1x, so some
    of the sped-up treble folds back: a cue while skipping ahead, not music.
    ``silence()`` stops the sound at once (the frontend's pause).
    """

    def __init__(self, rate: int = DEFAULT_DEVICE_RATE, target_ms: float = 80.0,
                 volume: float = 1.0, mixer_buffer: int = MIXER_BUFFER,
                 max_nudge: float = MAX_RATE_NUDGE, fast_forward: str = "mute"):
        self.requested_rate = rate
        self.max_nudge = max_nudge
        self.mixer_buffer = mixer_buffer
        self.target_ms = target_ms
        self._volume = min(max(float(volume), 0.0), 1.0)
        self._muted = False
        self.fast_forward = fast_forward
        self.rate = rate
        self.target = int(rate * target_ms / 1000)
        self.pipeline = None
        self.channel = None
        self.fifo = deque()
        self.fifo_len = 0
        self.nudge = 0.0
        self._integral = 0.0
        self._error = 0.0           # the level's error, in targets, averaged over feeds
        self.speed = 1.0            # what set_speed was last told
        self.pitch = 1.0            # the speed-up the last feed was played at
        self._arrivals = deque()    # pitch: (time, APU samples) fed within SPEED_WINDOW
        self._arrived = 0           # the APU samples in _arrivals after the first entry
        self.underruns = 0          # times the mixer ran out of samples
        self.dropped = 0            # output samples dropped because the level ran far over
        self.drops = 0              # times that happened
        self._playing_len = 0
        self._playing_since = 0.0
        self._queued_len = 0
        self._last_look = 0.0
        self.handed = 0             # output samples given to the mixer so far
        self._clock = time.perf_counter
        self._stalled = False
        self._make_sound = None
        self._close_mixer = None

    @property
    def fast_forward(self) -> str:
        """What the sound does while the emulation runs fast: "mute" or "pitch"."""
        return self._fast_forward

    @fast_forward.setter
    def fast_forward(self, mode: str):
        if mode not in FAST_FORWARD_MODES:
            raise ValueError(f"fast_forward must be one of {', '.join(FAST_FORWARD_MODES)},"
                             f" not {mode!r}")
        self._fast_forward = mode

    # -- lifetime --------------------------------------------------------------

    def start(self):
        """Open the audio device (pygame.mixer, 16-bit stereo) and reserve a channel.

        Raises pygame.error when there is no audio device."""
        import pygame

        if pygame.mixer.get_init() is None:
            pygame.mixer.init(self.requested_rate, -16, 2, self.mixer_buffer)
        rate, size, channels = pygame.mixer.get_init()
        if size != -16 or channels != 2:
            pygame.mixer.quit()
            pygame.mixer.init(self.requested_rate, -16, 2, self.mixer_buffer)
            rate, size, channels = pygame.mixer.get_init()
        pygame.mixer.set_reserved(1)
        self.attach(pygame.mixer.Channel(0), pygame.mixer.Sound, rate)
        self._close_mixer = pygame.mixer.quit

    def attach(self, channel, make_sound, rate: int, clock=time.perf_counter):
        """Play on ``channel`` (a pygame.mixer.Channel or a stand-in with the same
        methods) with Sounds from ``make_sound(buffer=bytes)``, at ``rate``; ``clock``
        tells wall time. start() does this with pygame's mixer; tests, with a model."""
        self.channel = channel
        self._make_sound = make_sound
        self._clock = clock
        self.rate = rate
        self.target = int(rate * self.target_ms / 1000)
        self.pipeline = AudioPipeline(rate, 1.0)
        if self.pipeline.resampler is None:     # rate control and pitch act on the ratio
            self.pipeline.resampler = Resampler(APU_RATE, rate)
        self._apply_volume()

    def stop(self):
        """Stop playing and close the mixer."""
        if self.channel is not None:
            self.channel.stop()
            self.channel = None
            if self._close_mixer is not None:
                self._close_mixer()
        self.fifo.clear()
        self.fifo_len = 0

    # -- volume ------------------------------------------------------------------

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float):
        self._volume = min(max(float(value), 0.0), 1.0)
        self._apply_volume()

    @property
    def muted(self) -> bool:
        return self._muted

    @muted.setter
    def muted(self, on: bool):
        self._muted = bool(on)
        self._apply_volume()

    def _apply_volume(self):
        if self.channel is not None:
            self.channel.set_volume(0.0 if self._muted else self._volume)

    # -- speed -----------------------------------------------------------------------

    def set_speed(self, speed: float | None):
        """How fast the emulation runs from now on, as a multiple of real time: 1,
        a fast-forward cap (4.0), or None for as fast as it goes.

        "mute": any speed but 1 silences the output until the speed is 1 again.
        "pitch": the speed-up played at is the one measured over the feeds of the
        last ``SPEED_WINDOW`` (0.5 s): APU samples arrived / 65,536 / wall seconds,
        counted from this call, so the first feed already has a reading. A cap
        bounds it (a frame run before the pacer's first wait would read far over),
        and 1 is its floor. Measured, not taken from the cap, because a machine
        that cannot reach the cap would otherwise starve the buffer; over half a
        second, because the pitch should not wobble with each frame's timing.
        """
        if speed == self.speed:
            return
        self.speed = speed
        self._arrivals.clear()
        self._arrivals.append((self._clock(), 0))
        self._arrived = 0
        if speed != 1 and self.fast_forward == "mute":
            self.silence()

    def _measured_pitch(self, count: int) -> float:
        """The speed-up to play ``count`` new APU samples at (pitch mode)."""
        now = self._clock()
        arrivals = self._arrivals
        arrivals.append((now, count))
        self._arrived += count
        # Slide the window, keeping at least one interval in it.
        while len(arrivals) > 2 and now - arrivals[1][0] >= SPEED_WINDOW:
            arrivals.popleft()
            self._arrived -= arrivals[0][1]
        elapsed = now - arrivals[0][0]
        if elapsed > 0:
            measured = self._arrived / APU_RATE / elapsed
        else:                                   # no time has passed: nothing to measure
            measured = self.speed or self.pitch
        if self.speed is not None:
            measured = min(measured, self.speed)
        return max(measured, 1.0)

    def silence(self):
        """Stop the sound now and forget what waits (pause, muted fast-forward).

        Not an underrun: playing starts again once ``target`` samples are waiting.
        """
        if self.channel is not None:
            self.channel.stop()
        self.fifo.clear()
        self.fifo_len = 0
        self._playing_len = 0
        self._queued_len = 0
        self._stalled = False

    # -- feeding -------------------------------------------------------------------

    @property
    def level(self) -> int:
        """Output samples not yet heard: waiting, queued, and left of the one playing."""
        return self.fifo_len + self._queued_len + self._playing_left()

    def feed(self, samples: np.ndarray):
        """Take APU samples (int16 (n, 2) at 65,536 Hz, one frame's) and play them."""
        if self.pipeline is None:
            raise RuntimeError("AudioOutput.feed() before start()")
        if self.speed != 1 and self.fast_forward == "mute":
            self.pitch = 1.0
            return
        self._track_mixer()
        self.pitch = 1.0 if self.speed == 1 else self._measured_pitch(len(samples))
        if self.channel.get_busy():
            # Proportional-integral control of the level through the ratio. The
            # standing (integral) part is the device clock's error, learnt at speed 1:
            # a fast-forward's speed readings do not feed it.
            self._error += LEVEL_SMOOTHING * ((self.level - self.target) / self.target
                                              - self._error)
            error = self._error
            limit = self.max_nudge
            if self.speed == 1:
                self._integral = min(max(self._integral + RATE_INTEGRAL * error, -limit),
                                     limit)
            self.nudge = min(max(RATE_PROPORTIONAL * error + self._integral, -limit), limit)
        out = self.pipeline.process(samples, self.pitch * (1.0 + self.nudge) - 1.0)
        if len(out):
            self.fifo.append(out)
            self.fifo_len += len(out)
        if self.level > DROP_OVER * self.target:
            self._drop(self.level - self.target)
        self._pump()

    def _playing_left(self) -> int:
        if not self._playing_len:
            return 0
        heard = (self._clock() - self._playing_since) * self.rate
        return int(min(max(self._playing_len - heard, 0), self._playing_len))

    def _track_mixer(self):
        """Notice what the mixer has started or finished since the last look."""
        now = self._clock()
        if not self.channel.get_busy():
            waiting = self.channel.get_queue()
            if waiting is not None and not self._stalled:
                # Between two Sounds, the mixer starting the queued one; unless it
                # is still waiting at the next look (a Sound queued just as the
                # last one ended is never started): then we start it.
                self._stalled = True
                self._last_look = now
                return
            self._stalled = False
            if waiting is not None:
                self.channel.play(waiting)
                self.underruns += 1
                self._playing_len = self._queued_len
                self._playing_since = now
                self._queued_len = 0
                self._last_look = now
                return
            if self._playing_len or self._queued_len:
                self.underruns += 1
            self._playing_len = 0
            self._queued_len = 0
        elif self._queued_len and self.channel.get_queue() is None:
            self._stalled = False
            # The queued Sound has begun: when the one before it ended by our
            # clock, but certainly between the last look and now. Keeping it in
            # that span stops the device's clock and ours drifting apart.
            ended = self._playing_since + self._playing_len / self.rate
            self._playing_len = self._queued_len
            self._playing_since = min(max(ended, self._last_look), now)
            self._queued_len = 0
        self._last_look = now

    def _take(self, count: int) -> np.ndarray:
        parts = []
        while count > 0 and self.fifo:
            head = self.fifo[0]
            if len(head) <= count:
                parts.append(self.fifo.popleft())
                count -= len(head)
            else:
                parts.append(head[:count])
                self.fifo[0] = head[count:]
                count = 0
        taken = np.concatenate(parts) if parts else np.zeros((0, 2), np.int16)
        self.fifo_len -= len(taken)
        return taken

    def _drop(self, count: int):
        """Cut ``count`` waiting samples (at most what waits, less ``DROP_FADE``) from
        the head of the FIFO, crossfading the samples before the cut into those after
        it over ``DROP_FADE`` samples, so the cut is a skip, not a click."""
        waiting = self._take(self.fifo_len)
        count = min(count, len(waiting) - DROP_FADE)
        if count > 0:
            fade_in = np.linspace(0.0, 1.0, DROP_FADE)[:, None]
            joined = (waiting[:DROP_FADE] * (1.0 - fade_in)
                      + waiting[count:count + DROP_FADE] * fade_in)
            waiting = np.concatenate([np.round(joined).astype(np.int16),
                                      waiting[count + DROP_FADE:]])
            self.dropped += count
            self.drops += 1
        if len(waiting):
            self.fifo.append(waiting)
            self.fifo_len += len(waiting)

    def _pump(self):
        """Start playing once the FIFO holds ``target``; then, whenever the queue
        slot is free and half a target is waiting, queue it all.

        A queued Sound is never shorter than half the target, so when it starts
        there is that long to notice and queue the next one.
        """
        sound_of = self._make_sound
        if not self.channel.get_busy():
            if self.fifo_len < self.target or self.channel.get_queue() is not None:
                return
            data = self._take(self.fifo_len)
            self.channel.play(sound_of(buffer=np.ascontiguousarray(data).tobytes()))
            self.handed += len(data)
            self._playing_len = len(data)
            self._playing_since = self._clock()
            self._queued_len = 0
        elif self.channel.get_queue() is None and self.fifo_len >= self.target // 2:
            data = self._take(self.fifo_len)
            self.channel.queue(sound_of(buffer=np.ascontiguousarray(data).tobytes()))
            self.handed += len(data)
            self._queued_len = len(data)


def feed_every_frame(frontend, gb, *sinks):
    """Switch ``gb``'s sound on and hand each frame's samples to every sink.

    A sink is anything with ``feed(samples)``: an AudioOutput, a WavWriter.
    Uses the frontend's ``on_frame`` hook, so the samples are read once, in
    one place, whatever the sinks.
    """
    gb.audio_enabled = True

    def feed():
        samples = gb.read_samples()
        for sink in sinks:
            sink.feed(samples)

    frontend.on_frame(feed)
    return feed
