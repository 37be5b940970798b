"""The APU as programs see it and as listeners hear it.

Register behaviour is checked through small programs that write the sound
registers the way a game does (LDH), read back through the CPU's view
(GameBoy.read_io): read-back masks, NR52's power and channel bits, what
powering off clears and what it keeps, the frame sequencer's DIV clock.
Sound is checked on the samples the core mixes: pitch, panning, the noise
LFSR's period, lazy against eager catch-up, nothing lost over long runs. Then
gbemu.audio (high-pass, resampler, WAV, pygame output on SDL's dummy driver),
`gbemu run --wav`, and Tobu Tobu Girl's title music.

The Blargg dmg_sound ROMs are tracked in tests/expectations.toml.
"""

from __future__ import annotations

import wave

import numpy as np
import pytest

from gbemu import GameBoy, cli
from gbemu.audio import APU_RATE, AudioOutput, AudioPipeline, HighPass, Resampler, WavWriter
from gbemu.core import hwio
from tests import romimages

LD_B_B = 0x40
CLOCK_HZ = 4_194_304

# Bits that read back as 1 (Pan Docs, "Audio Registers"; blargg's sound notes).
READ_MASKS = {
    hwio.NR10: 0x80, hwio.NR11: 0x3F, hwio.NR12: 0x00, hwio.NR13: 0xFF, hwio.NR14: 0xBF,
    0xFF15: 0xFF,
    hwio.NR21: 0x3F, hwio.NR22: 0x00, hwio.NR23: 0xFF, hwio.NR24: 0xBF,
    hwio.NR30: 0x7F, hwio.NR31: 0xFF, hwio.NR32: 0x9F, hwio.NR33: 0xFF, hwio.NR34: 0xBF,
    0xFF1F: 0xFF,
    hwio.NR41: 0xFF, hwio.NR42: 0x00, hwio.NR43: 0x00, hwio.NR44: 0xBF,
    hwio.NR50: 0x00, hwio.NR51: 0x00,
    **{addr: 0xFF for addr in range(0xFF27, 0xFF30)},
}


# -- programs ------------------------------------------------------------------------

def writes(*pairs) -> bytes:
    """LD A,value ; LDH (register),A for each (register, value)."""
    code = bytearray()
    for register, value in pairs:
        code += bytes((0x3E, value, 0xE0, register & 0xFF))
    return bytes(code)


def stop_here() -> bytes:
    """The breakpoint the tests run to, then a loop forever."""
    return bytes((LD_B_B,)) + romimages.LOOP_FOREVER


def machine(program: bytes, **options) -> GameBoy:
    """A GameBoy that has run ``program`` up to its breakpoint."""
    gb = GameBoy(romimages.build_rom(program + stop_here()), **options)
    gb.break_on_ld_b_b = True
    events = gb.run_cycles(CLOCK_HZ)
    assert events & hwio.EV_BREAKPOINT, "the program did not reach its breakpoint"
    return gb


def channels_on(gb) -> int:
    return gb.read_io(hwio.NR52) & 0x0F


# Power cycled, so nothing the boot ROM left runs on.
POWER_ON = writes((hwio.NR52, 0x00), (hwio.NR52, 0x80), (hwio.NR50, 0x77))


def tone_program(nr51=0xFF) -> bytes:
    """Channel 2 plays 131072 / (2048 - 1750) = 439.8 Hz at full volume, 50 % duty."""
    freq = 1750
    return POWER_ON + writes(
        (hwio.NR51, nr51), (hwio.NR21, 0x80), (hwio.NR22, 0xF0),
        (hwio.NR23, freq & 0xFF), (hwio.NR24, 0x80 | (freq >> 8)))


def dominant_frequency(signal: np.ndarray, rate: float) -> float:
    signal = signal - signal.mean()
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[spectrum.argmax()])


# -- registers -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [0x00, 0xFF])
def test_registers_read_back_through_their_masks(value):
    gb = machine(POWER_ON + writes(*((addr, value) for addr in READ_MASKS)))
    read = {addr: gb.read_io(addr) for addr in READ_MASKS}
    assert read == {addr: value | mask for addr, mask in READ_MASKS.items()}


def test_every_sound_register_is_named_once():
    names = [hwio.IO_NAMES[addr] for addr in READ_MASKS if addr in hwio.IO_NAMES]
    assert sorted(names) == sorted(set(names))
    assert len(names) == 21 - 1          # NR10-NR51 (NR52 below)
    assert hwio.IO_NAMES[hwio.NR52] == "NR52"


def test_nr52_shows_power_and_running_channels():
    gb = machine(b"")
    assert gb.read_io(hwio.NR52) == 0xF1, "after the boot ROM: on, channel 1 still running"
    gb = machine(writes((hwio.NR52, 0x00)))
    assert gb.read_io(hwio.NR52) == 0x70
    gb = machine(POWER_ON + writes((hwio.NR22, 0x08), (hwio.NR24, 0x80)))
    assert gb.read_io(hwio.NR52) == 0xF2
    gb = machine(POWER_ON + writes((hwio.NR22, 0x08), (hwio.NR24, 0x80), (hwio.NR22, 0x00)))
    assert gb.read_io(hwio.NR52) == 0xF0, "switching the DAC off stops the channel"
    gb = machine(POWER_ON + writes((hwio.NR30, 0x80), (hwio.NR34, 0x80),
                                   (hwio.NR42, 0x08), (hwio.NR44, 0x80)))
    assert gb.read_io(hwio.NR52) == 0xFC


def test_power_off_clears_registers_and_ignores_writes():
    wave_bytes = bytes(range(0x10, 0x20))
    program = (POWER_ON
               + writes((hwio.NR51, 0xFF), (hwio.NR11, 0xC0), (hwio.NR12, 0xF3),
                        (hwio.NR43, 0x55), (hwio.NR22, 0x08), (hwio.NR24, 0x80))
               + writes(*zip(range(hwio.WAVE_START, hwio.WAVE_END), wave_bytes))
               + writes((hwio.NR52, 0x00))
               + writes((hwio.NR50, 0x55), (hwio.NR12, 0xF0), (hwio.NR30, 0x80))
               + writes((hwio.WAVE_START, 0xAB)))
    gb = machine(program)
    assert gb.read_io(hwio.NR52) == 0x70, "off, no channel running"
    for addr, mask in READ_MASKS.items():
        assert gb.read_io(addr) == mask, f"{hwio.IO_NAMES.get(addr, hex(addr))} not cleared"
    wave_ram = bytes(gb.read_io(addr) for addr in range(hwio.WAVE_START, hwio.WAVE_END))
    assert wave_ram == b"\xAB" + wave_bytes[1:], "wave RAM is kept, and writable while off"
    gb = machine(program + writes((hwio.NR52, 0x80)))
    assert gb.read_io(hwio.NR52) == 0xF0
    assert gb.read_io(hwio.NR50) == 0x00 and gb.read_io(hwio.NR12) == 0x00


def test_length_counter_is_kept_and_writable_while_off():
    # NR41 = $3E loads a length of 2, written while the APU is off (DMG only).
    trigger_with_length = writes((hwio.NR42, 0x08), (hwio.NR44, 0xC0))
    gb = machine(writes((hwio.NR52, 0x00), (hwio.NR41, 0x3E), (hwio.NR52, 0x80))
                 + trigger_with_length)
    assert channels_on(gb) == 0x08
    gb.run_cycles(3 * 16384)            # three length clocks (256 Hz)
    assert channels_on(gb) == 0, "the length written while off was used"

    # Loaded while on, kept through power off and on.
    gb = machine(writes((hwio.NR41, 0x3E), (hwio.NR52, 0x00), (hwio.NR52, 0x80))
                 + trigger_with_length)
    assert channels_on(gb) == 0x08
    gb.run_cycles(3 * 16384)
    assert channels_on(gb) == 0

    # Without a length written, 64 clocks: still on a tenth of a second later.
    gb = machine(writes((hwio.NR52, 0x00), (hwio.NR52, 0x80)) + trigger_with_length)
    gb.run_cycles(CLOCK_HZ // 10)
    assert channels_on(gb) == 0x08


def test_frame_sequencer_is_clocked_by_div():
    # Channel 2 with a length of 1 stops at the next length clock, unless DIV
    # writes keep counter bit 12 from ever falling.
    start = POWER_ON + writes((hwio.NR21, 0x3F), (hwio.NR22, 0x08), (hwio.NR24, 0xC0))
    iterations = 10_000                      # 40 T-cycles each: about 0.1 s
    div_loop = bytes((
        0x01, iterations & 0xFF, iterations >> 8,   # LD BC,n
        0xE0, 0x04,                                 # loop: LDH (DIV),A
        0x0B,                                       # DEC BC
        0x78, 0xB1,                                 # LD A,B ; OR C
        0x20, 0xF9,                                 # JR NZ,loop
    ))
    gb = machine(start + writes((hwio.DIV, 0)) + div_loop)
    assert channels_on(gb) == 0x02, "no length clock while DIV is held low"
    gb.run_cycles(2 * 8192)
    assert channels_on(gb) == 0, "a length clock within two sequencer steps of letting go"


# -- samples -------------------------------------------------------------------------

def tone_machine(nr51=0xFF, **options) -> GameBoy:
    gb = GameBoy(romimages.build_rom(tone_program(nr51) + stop_here()), **options)
    gb.audio_enabled = True
    return gb


def test_no_samples_with_audio_off_and_the_same_machine():
    quiet = GameBoy(romimages.build_rom(tone_program() + stop_here()))
    loud = tone_machine()
    for gb in (quiet, loud):
        gb.run_cycles(CLOCK_HZ // 4)
    assert len(quiet.read_samples()) == 0
    assert len(loud.read_samples()) == CLOCK_HZ // 4 // 64
    assert quiet.registers == loud.registers and quiet.clock == loud.clock
    for addr in range(hwio.NR10, hwio.WAVE_END):
        assert quiet.read_io(addr) == loud.read_io(addr)


def test_pulse_pitch_and_panning():
    gb = tone_machine(nr51=0x20)                 # channel 2 to the left only
    gb.run_cycles(CLOCK_HZ // 2)
    samples = gb.read_samples().astype(float)[APU_RATE // 10:]
    assert dominant_frequency(samples[:, 0], APU_RATE) == pytest.approx(439.8, abs=2.5)
    assert samples[:, 0].std() > 1000
    assert samples[:, 1].std() == 0, "nothing is panned right"


def test_wave_channel_pitch_follows_its_period():
    # 32 samples per cycle, one every 2 (2048 - x) T-cycles: 65536 / (2048 - x) Hz.
    freq = 1900
    ramp = bytes(((2 * i) << 4) | (2 * i + 1) for i in range(8)) * 2
    program = (POWER_ON + writes((hwio.NR51, 0x44), (hwio.NR30, 0x00))
               + writes(*zip(range(hwio.WAVE_START, hwio.WAVE_END), ramp))
               + writes((hwio.NR30, 0x80), (hwio.NR32, 0x20), (hwio.NR33, freq & 0xFF),
                        (hwio.NR34, 0x80 | (freq >> 8))))
    gb = GameBoy(romimages.build_rom(program + stop_here()))
    gb.audio_enabled = True
    gb.run_cycles(CLOCK_HZ // 2)
    samples = gb.read_samples().astype(float)[APU_RATE // 10:, 0]
    expected = 2 * 65536 / (2048 - freq)     # the ramp rises twice per wave RAM cycle
    assert dominant_frequency(samples, APU_RATE) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("width_bit, period", [(0x08, 127), (0x00, 32767)])
def test_noise_lfsr_period(width_bit, period):
    # Divider code 4, shift 0: the LFSR steps every 64 T-cycles, once per sample.
    program = POWER_ON + writes((hwio.NR51, 0x88), (hwio.NR42, 0xF0),
                                (hwio.NR43, 0x04 | width_bit), (hwio.NR44, 0x80))
    gb = GameBoy(romimages.build_rom(program + stop_here()))
    gb.audio_enabled = True
    gb.run_cycles(CLOCK_HZ)
    left = gb.read_samples()[APU_RATE // 10:, 0].astype(int)
    assert left.std() > 1000
    matches_127 = np.mean(left[:-127] == left[127:])
    if period == 127:
        assert matches_127 == 1.0
    else:
        assert matches_127 < 0.75
        assert np.array_equal(left[:2000], left[period:period + 2000])


def test_lazy_and_eager_catch_up_mix_the_same_samples():
    lazy, eager = tone_machine(), tone_machine(eager=True)
    for gb in (lazy, eager):
        gb.run_cycles(CLOCK_HZ // 20)
    assert np.array_equal(lazy.read_samples(), eager.read_samples())


def test_long_runs_keep_every_sample():
    gb = tone_machine()
    gb.run_cycles(2 * CLOCK_HZ)                   # eight times the core's ring
    first = gb.read_samples()
    gb.run_cycles(CLOCK_HZ // 10)
    second = gb.read_samples()
    assert len(first) + len(second) == (2 * CLOCK_HZ + CLOCK_HZ // 10) // 64
    assert first[:, 0].std() > 1000


def test_samples_start_when_audio_is_switched_on():
    gb = GameBoy(romimages.build_rom(tone_program() + stop_here()))
    gb.run_cycles(CLOCK_HZ // 4)
    gb.audio_enabled = True
    gb.run_cycles(6400)
    assert len(gb.read_samples()) in (99, 100, 101)
    gb.audio_enabled = False
    gb.run_cycles(6400)
    assert len(gb.read_samples()) == 0


# -- gbemu.audio -----------------------------------------------------------------------

def tone(frequency: float, seconds: float, rate: int = APU_RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave_ = 8000 * np.sin(2 * np.pi * frequency * t)
    return np.stack([wave_, wave_], axis=1)


def resample_in_frames(signal, out_rate=48_000, frame=1097):
    resampler = Resampler(APU_RATE, out_rate)
    return np.concatenate([resampler.process(signal[i:i + frame])
                           for i in range(0, len(signal), frame)])


def test_resampler_keeps_pitch_and_length():
    out = resample_in_frames(tone(1000, 1.0))
    assert abs(len(out) - 48_000) <= 1
    assert dominant_frequency(out[:, 0], 48_000) == pytest.approx(1000, abs=2)
    assert out[4800:, 0].std() == pytest.approx(8000 / np.sqrt(2), rel=0.01)


@pytest.mark.parametrize("frequency", [26_000, 30_000, 40_000])
def test_resampler_stops_what_would_alias(frequency):
    out = resample_in_frames(tone(frequency, 0.5))
    assert 20 * np.log10(out[2400:, 0].std() / (8000 / np.sqrt(2))) < -70


def test_resampler_nudge_changes_the_output_count():
    resampler = Resampler(APU_RATE, 48_000)
    counts = [len(resampler.process(tone(440, 0.1), nudge)) for nudge in (0.0, 0.005, -0.005)]
    assert counts[1] < counts[0] < counts[2]
    assert counts[0] - counts[1] == pytest.approx(counts[0] * 0.005, abs=2)


def test_high_pass_drains_dc_like_the_output_capacitor():
    high_pass = HighPass(APU_RATE)
    out = high_pass.process(np.full((APU_RATE // 2, 2), 5000.0))
    assert out[0, 0] == pytest.approx(5000)
    assert abs(out[APU_RATE // 10, 0]) < 50          # 28 Hz corner: gone within 0.1 s
    music = tone(440, 0.5)
    assert high_pass.process(music + 3000)[APU_RATE // 4:, 0].std() == pytest.approx(
        music[:, 0].std(), rel=0.01)


def test_pipeline_counts_clipping():
    pipeline = AudioPipeline(48_000, volume=8.0)
    out = pipeline.process(tone(440, 0.2).astype(np.int16))
    assert out.dtype == np.int16 and pipeline.clipped > 0
    assert np.abs(out.astype(int)).max() <= 32768


def test_wav_writer_writes_48k_stereo(tmp_path):
    path = tmp_path / "tone.wav"
    with WavWriter(path) as wav:
        for i in range(0, APU_RATE, 1097):
            wav.write(tone(440, 1.0)[i:i + 1097].astype(np.int16))
    with wave.open(str(path)) as result:
        assert (result.getnchannels(), result.getsampwidth(), result.getframerate()) == (
            2, 2, 48_000)
        assert abs(result.getnframes() - 48_000) <= 1


def test_audio_output_plays_on_sdl_dummy_driver(monkeypatch):
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    pygame = pytest.importorskip("pygame")
    output = AudioOutput()
    output.start()
    try:
        gb = tone_machine()
        for _ in range(10):
            gb.run_frames(1)
            output.feed(gb.read_samples())
        assert output.channel.get_busy(), "playing once the target level was reached"
        assert output.level > 0 and output.underruns == 0
        output.volume = 0.5
        assert output.channel.get_volume() == pytest.approx(0.5, abs=0.01)
        output.muted = True
        assert output.channel.get_volume() == 0
        output.muted = False
        assert output.channel.get_volume() == pytest.approx(0.5, abs=0.01)
    finally:
        output.stop()
        pygame.quit()


class ModelDevice:
    """A sound card with pygame Channel's interface, playing at ``rate * (1 + drift)``
    samples per second of the ``clock`` given."""

    def __init__(self, clock, rate, drift):
        self.clock, self.speed = clock, rate * (1 + drift)
        self.playing = None          # (samples, start time)
        self.queued = None
        self.volume = 1.0

    def _advance(self):
        now = self.clock()
        while self.playing is not None:
            samples, start = self.playing
            end = start + samples / self.speed
            if end > now:
                return
            self.playing = None if self.queued is None else (len(self.queued), end)
            self.queued = None

    def get_busy(self):
        self._advance()
        return self.playing is not None

    def get_queue(self):
        self._advance()
        return self.queued

    def play(self, sound):
        self.playing, self.queued = (len(sound), self.clock()), None

    def queue(self, sound):
        self._advance()
        if self.playing is None:
            self.play(sound)
        else:
            self.queued = sound

    def set_volume(self, volume):
        self.volume = volume

    def stop(self):
        self.playing = self.queued = None


def model_sound(buffer):
    return bytes(buffer[::4])        # one byte per stereo 16-bit sample: len() counts them


def play_frames(output, now, seconds):
    """Feed a tone frame by frame at the DMG's frame rate; the levels and nudges seen
    after the first 20 s."""
    frame = tone(440, 1.0).astype(np.int16)
    levels, nudges = [], []
    for index in range(int(seconds * 59.7275)):
        size = 1098 if index % 4 == 3 else 1097      # 65536 / 59.7275 = 1097.25
        output.feed(frame[:size])
        now[0] += 1 / 59.7275
        if index > 20 * 60:
            levels.append(output.level)
            nudges.append(output.nudge)
    return levels, nudges


@pytest.mark.parametrize("drift", [-0.003, 0.0, 0.003])
def test_rate_control_holds_the_buffer_level(drift):
    """60 s against a sound card 0.3 % slow or fast: the nudged ratio keeps the level
    near its target, with no underrun and nothing dropped."""
    now = [0.0]
    output = AudioOutput()
    device = ModelDevice(lambda: now[0], 48_000, drift)
    output.attach(device, model_sound, 48_000, clock=lambda: now[0])
    levels, nudges = play_frames(output, now, 60)
    assert output.underruns == 0 and output.dropped == 0
    assert 0.5 * output.target < min(levels) and max(levels) < 1.7 * output.target
    # A fast card is met with more samples (a negative nudge), a slow one with fewer.
    assert np.mean(nudges) == pytest.approx(-drift, abs=0.001)


def test_a_queued_sound_the_mixer_never_started_is_started():
    # pygame's race: a Sound queued just as the last one ended stays queued on an
    # idle channel. The output notices at its second look and plays it.
    now = [0.0]
    output = AudioOutput()
    device = ModelDevice(lambda: now[0], 48_000, 0.0)
    output.attach(device, model_sound, 48_000, clock=lambda: now[0])
    play_frames(output, now, 1)
    assert device.get_busy()
    stuck = device.queued if device.queued is not None else model_sound(bytes(4 * 2000))
    device.playing, device.queued = None, stuck
    output._queued_len = len(stuck)
    underruns = output.underruns
    play_frames(output, now, 1)
    assert device.get_busy() and device.playing[0] != 0
    assert output.underruns == underruns + 1 and output.dropped == 0


# -- gbemu run --wav -------------------------------------------------------------------

def test_run_headless_writes_what_was_played(tmp_path, capsys):
    rom = tmp_path / "tone.gb"
    rom.write_bytes(romimages.build_rom(tone_program() + stop_here()))
    out = tmp_path / "out.wav"
    assert cli.main(["run", str(rom), "--headless", "--seconds", "1", "--wav", str(out)]) == 0
    with wave.open(str(out)) as result:
        assert result.getframerate() == 48_000 and result.getnchannels() == 2
        frames = result.getnframes()
        data = np.frombuffer(result.readframes(frames), np.int16).reshape(-1, 2)
    assert abs(frames - 48_000) <= 2
    assert dominant_frequency(data[4800:, 0].astype(float), 48_000) == pytest.approx(
        439.8, abs=2)


def test_wav_without_headless_or_with_no_sound_is_refused(tmp_path, capsys):
    rom = tmp_path / "tone.gb"
    rom.write_bytes(romimages.build_rom(tone_program() + stop_here()))
    out = tmp_path / "out.wav"
    assert cli.main(["run", str(rom), "--wav", str(out)]) == 2
    assert "--wav needs --headless" in capsys.readouterr().err
    assert cli.main(["run", str(rom), "--headless", "--no-sound", "--wav", str(out)]) == 2
    assert "not allowed with" in capsys.readouterr().err
    assert cli.main(["run", str(rom), "--headless", "--seconds", "1",
                     "--wav", str(tmp_path / "missing" / "out.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out.wav" in err[0]


# -- a game's music ------------------------------------------------------------------

NOTE_NAMES = 12


def test_tobu_tobu_girl_title_music(tmp_path, rom_root):
    """20 s from power on: the intro jingle and the title music, exported to WAV."""
    rom = rom_root / "homebrew" / "tobutobugirl" / "tobu.gb"
    if not rom.is_file():
        pytest.skip(f"{rom} not found")
    out = tmp_path / "tobu.wav"
    # The battery save goes to tmp_path: the shared ROM folder is not ours to write in.
    assert cli.main(["run", str(rom), "--headless", "--seconds", "20", "--wav", str(out),
                     "--save-dir", str(tmp_path)]) == 0
    with wave.open(str(out)) as result:
        rate = result.getframerate()
        data = np.frombuffer(result.readframes(result.getnframes()), np.int16)
    music = data.reshape(-1, 2).astype(float).mean(axis=1)
    assert len(music) == pytest.approx(20 * rate, abs=rate // 10)
    assert music.std() > 500, "not silent"
    assert np.abs(data.astype(int)).max() < 32767, "no clipping"

    # Half-second windows: the strongest partial of most windows with sound lies
    # on the equal-tempered scale, and the notes are not all one.
    window = rate // 2
    pitches = []
    for start in range(0, len(music) - window, window):
        segment = music[start:start + window]
        if segment.std() < 200:
            continue
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(window)))
        freqs = np.fft.rfftfreq(window, 1 / rate)
        audible = freqs > 60
        pitches.append(freqs[audible][spectrum[audible].argmax()])
    semitones = 12 * np.log2(np.array(pitches) / 440.0)
    on_scale = np.abs(semitones - np.round(semitones)) < 0.3
    assert len(pitches) >= 20
    assert on_scale.mean() > 0.7
    assert len(set(np.round(semitones).astype(int) % NOTE_NAMES)) >= 4

    # Energy sits where music does: bass, middle and treble all present, little
    # above 12 kHz.
    spectrum = np.abs(np.fft.rfft(music)) ** 2
    freqs = np.fft.rfftfreq(len(music), 1 / rate)
    total = spectrum[freqs > 20].sum()
    band = lambda lo, hi: spectrum[(freqs >= lo) & (freqs < hi)].sum() / total  # noqa: E731
    assert band(60, 400) > 0.05
    assert band(400, 2000) > 0.2
    assert band(2000, 12000) > 0.01
    assert band(12000, 24000) < 0.05
