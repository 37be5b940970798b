"""The sound output as the window drives it: the volume curve, fast-forward played
muted or pitched, and a flooded buffer cut without a click.

Played on tests.test_apu's model sound card, on a model clock that moves one frame
period (divided by the speed) per fed frame, so the figures do not depend on this
machine's load. test_frontend.py checks that the window's keys reach the output.
"""

from __future__ import annotations

import numpy as np
import pytest

from gbemu.audio import APU_RATE, DROP_FADE, AudioOutput, volume_gain
from tests.test_apu import ModelDevice, dominant_frequency, model_sound, tone

FRAME_RATE = 59.7275
TONE = tone(440, 1.0).astype(np.int16)        # a whole number of cycles: loops seamlessly


class Session:
    """An AudioOutput on a model sound card and clock, fed a 440 Hz tone frame by frame."""

    def __init__(self, mode="mute", drift=0.0, record=False):
        self.now = 0.0
        self.sounds = []                        # what was handed to the card, if recorded
        self.output = AudioOutput(fast_forward=mode)
        self.device = ModelDevice(self.clock, 48_000, drift)
        make_sound = self._recorded if record else model_sound
        self.output.attach(self.device, make_sound, 48_000, clock=self.clock)
        self.position = 0
        self.frames = 0

    def clock(self) -> float:
        return self.now

    def _recorded(self, buffer):
        sound = np.frombuffer(buffer, np.int16).reshape(-1, 2)
        self.sounds.append(sound)
        return sound

    @property
    def produced(self) -> int:
        """Output samples made so far: handed to the card or waiting."""
        return self.output.handed + self.output.fifo_len

    def play(self, seconds: float, speed: float = 1.0) -> list[int]:
        """Feed ``seconds`` of emulated sound, running at ``speed`` x real time (each
        frame's samples once the frame has taken its time); the levels seen."""
        levels = []
        for _ in range(round(seconds * FRAME_RATE)):
            self.now += 1 / FRAME_RATE / speed
            size = 1098 if self.frames % 4 == 3 else 1097      # 65536 / 59.7275 = 1097.25
            take = np.arange(self.position, self.position + size) % len(TONE)
            self.output.feed(TONE[take])
            self.position = (self.position + size) % len(TONE)
            self.frames += 1
            levels.append(self.output.level)
        return levels


def test_volume_steps_are_even_in_loudness():
    gains = [volume_gain(percent) for percent in range(100, 0, -10)]
    steps_db = -20 * np.diff(np.log10(gains))
    assert gains[0] == 1.0 and volume_gain(0) == 0.0
    assert volume_gain(150) == 1.0 and volume_gain(-5) == 0.0
    # Every step down is audible (over 1.5 dB), unlike linear steps near the top (0.9 dB).
    assert steps_db.min() > 1.5 and volume_gain(50) == pytest.approx(0.25)


def test_volume_and_mute_are_the_gain_the_card_applies_at_once():
    session = Session()
    session.play(1)
    session.output.volume = 0.49
    assert session.device.volume == pytest.approx(0.49)
    session.output.muted = True
    assert session.device.volume == 0.0                          # silence
    session.play(0.5)
    assert session.device.volume == 0.0 and session.device.get_busy()
    session.output.muted = False
    assert session.device.volume == pytest.approx(0.49)          # the volume is kept


def test_muted_fast_forward_queues_nothing_and_resumes_at_normal_latency():
    session = Session("mute")
    session.play(2)
    output, device = session.output, session.device
    assert device.get_busy()
    handed = output.handed

    output.set_speed(4.0)
    assert not device.get_busy() and output.level == 0           # silent at once
    levels = session.play(3, speed=4.0)
    assert output.handed == handed and max(levels) == 0 and not device.get_busy()

    output.set_speed(1.0)
    frames = 0
    while not device.get_busy():
        session.play(1 / FRAME_RATE)
        frames += 1
    # Playing starts once the 80 ms target is waiting: five frames of 16.7 ms.
    assert frames <= round(0.080 * FRAME_RATE) + 1
    levels = session.play(5)
    assert output.underruns == 0 and output.dropped == 0
    assert max(levels) < 1.7 * output.target


@pytest.mark.parametrize("speed", [2.0, 4.0])
def test_pitched_fast_forward_plays_the_same_stretch_in_fewer_samples(speed):
    normal = Session("pitch")
    normal.play(1)
    before = normal.produced
    normal.play(4)
    per_stretch = normal.produced - before

    session = Session("pitch", record=True)
    session.play(1)
    session.output.set_speed(speed)
    before, first_sound = session.produced, len(session.sounds)
    levels = session.play(4, speed=speed)
    output = session.output
    assert session.produced - before == pytest.approx(per_stretch / speed, rel=0.02)
    assert output.pitch == pytest.approx(speed, rel=0.01)
    # The level stays bounded: no underrun, nothing dropped.
    assert output.underruns == 0 and output.dropped == 0
    assert max(levels) < 2 * output.target
    # Faster and higher: the 440 Hz tone comes out `speed` times higher.
    heard = np.concatenate(session.sounds[first_sound + 1:])[:, 0].astype(float)
    assert dominant_frequency(heard, 48_000) == pytest.approx(440 * speed, rel=0.01)

    output.set_speed(1.0)
    before = session.produced
    session.play(4)
    assert session.produced - before == pytest.approx(per_stretch, rel=0.02)
    assert output.underruns == 0 and output.dropped == 0


def test_pitch_follows_the_speed_reached_not_the_cap():
    """A machine that reaches 2.5x of a 4x cap, or 7x unlimited, is played at what it
    reaches; a pitch taken from the cap would empty the buffer."""
    session = Session("pitch")
    session.play(1)
    session.output.set_speed(4.0)
    session.play(3, speed=2.5)
    assert session.output.pitch == pytest.approx(2.5, rel=0.01)
    session.output.set_speed(None)                      # unlimited
    session.play(3, speed=7.0)
    assert session.output.pitch == pytest.approx(7.0, rel=0.01)
    assert session.output.underruns == 0 and session.output.dropped == 0


def test_a_flooded_buffer_is_cut_back_with_a_crossfade():
    """A card playing at half speed (a stalled mixer) floods the buffer past four
    targets; the cut is crossfaded, so the sound never jumps more than the tone's own
    steepest step (a plain cut jumps up to twice the amplitude)."""
    session = Session(drift=-0.5, record=True)
    session.play(6)
    assert session.output.dropped > 0
    heard = np.concatenate(session.sounds)[:, 0].astype(float)
    steepest = 8000 * 2 * np.pi * 440 / 48_000                 # 461 per sample
    assert np.abs(np.diff(heard[4800:])).max() < 1.5 * steepest
    assert DROP_FADE >= 64 and APU_RATE == 65_536
