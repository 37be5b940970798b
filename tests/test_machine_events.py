"""What GameBoy.run_until reports: every event of the stretch it ran."""

from __future__ import annotations

from gbemu import GameBoy
from gbemu.core import hwio
from gbemu.machine import CLOCK_HZ
from tests.romimages import LOOP_FOREVER, build_rom, serial_print


def test_events_before_an_audio_drain_are_reported():
    """With sound on, run_until empties the APU's ring several times a second; an
    event raised before such a drain (here the serial byte sent at the start) must
    still be in the result."""
    gb = GameBoy(build_rom(serial_print("x") + LOOP_FOREVER))
    gb.audio_enabled = True
    events = gb.run_until(gb.clock + 2 * CLOCK_HZ)
    assert gb.serial_output == b"x"
    assert events & hwio.EV_SERIAL
    assert len(gb.read_samples()) > CLOCK_HZ // 64     # the ring was drained on the way
