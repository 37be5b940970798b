"""Battery saves: loading, writing a second after the game does, atomically, and never
losing a save that does not fit.

Most tests drive gbemu.saves.SaveManager in this process with chosen times.
The last ones start ``python -m gbemu run ROM --headless`` on a synthetic
cartridge that counts frames in its battery RAM, and stop it with SIGKILL or
SIGTERM, to show what a user would find in the save file afterwards.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gbemu import cli
from gbemu.machine import CLOCK_HZ, GameBoy
from gbemu.saves import SaveError, SaveManager, atomic_write, keep_backup, save_path
from tests import romimages
from tests.test_mbc import banked_rom, cpu_write, rtc_read

REPO_ROOT = Path(__file__).resolve().parent.parent
MBC1_RAM_BATTERY = 0x03
MBC3_RTC_RAM_BATTERY = 0x10
MBC1_RAM = 0x02
RAM_8K = 0x02
COUNTER = 0xA000                # 32-bit frame counter, then a copy of it at $A004
MAGIC_ADDR = 0xA010
MAGIC = b"GBEMU SAVE TEST"
STARTUP_SECONDS = 240           # a cold numba cache compiles first


def counter_program() -> bytes:
    """Enable RAM, mark it, then at every VBlank add 1 to the counter and copy it."""
    setup = bytes((0x3E, 0x0A, 0xEA, 0x00, 0x00)) + romimages.store_bytes(MAGIC_ADDR, MAGIC)
    loop = romimages.PROGRAM_START + len(setup)
    body = bytes((
        0xF0, 0x44, 0xFE, 0x90, 0x20, 0xFA,      # wait: LDH A,(LY) ; CP 144 ; JR NZ,wait
        0x21, 0x00, 0xA0,                        # LD HL,$A000
        0x34, 0x20, 0x0A,                        # INC (HL) ; JR NZ,copy
        0x23, 0x34, 0x20, 0x06,                  # INC HL ; INC (HL) ; JR NZ,copy
        0x23, 0x34, 0x20, 0x02,
        0x23, 0x34,
        0x21, 0x00, 0xA0,                        # copy: LD HL,$A000
        0x2A, 0xEA, 0x04, 0xA0,                  # LD A,(HL+) ; LD ($A004),A
        0x2A, 0xEA, 0x05, 0xA0,
        0x2A, 0xEA, 0x06, 0xA0,
        0x2A, 0xEA, 0x07, 0xA0,
        0xF0, 0x44, 0xFE, 0x90, 0x28, 0xFA,      # wait for VBlank's line to end
        0xC3, loop & 0xFF, loop >> 8,            # JP loop
    ))
    return setup + body


def counter_rom(tmp_path, cart_type=MBC1_RAM_BATTERY) -> Path:
    path = tmp_path / "counter.gb"
    path.write_bytes(romimages.build_rom(counter_program(), cart_type=cart_type,
                                         ram_size_code=RAM_8K, title=b"COUNTER"))
    return path


def read_counter(data: bytes):
    """(counter, its copy) from a save of the counter ROM; checks the save is whole."""
    assert len(data) == 0x2000, f"save has {len(data)} bytes"
    assert data[MAGIC_ADDR - 0xA000:][:len(MAGIC)] == MAGIC
    return struct.unpack_from("<II", data, 0)


# -- SaveManager in this process ---------------------------------------------------

def test_save_path_is_beside_the_rom_or_in_the_save_dir(tmp_path):
    assert save_path(tmp_path / "game.gb") == tmp_path / "game.sav"
    assert save_path(tmp_path / "game.gb", tmp_path / "saves") == tmp_path / "saves" / "game.sav"


def test_write_happens_a_second_after_the_first_unsaved_change(tmp_path):
    rom = counter_rom(tmp_path)
    gb = GameBoy.from_file(rom)
    saves = SaveManager(gb, rom)
    assert saves.active and saves.load(time.time()) == []
    gb.run_frames(3)
    assert not saves.poll(100.0)            # the change is noted at 100.0
    gb.run_frames(3)
    assert not saves.poll(100.9)
    assert not saves.path.exists()
    assert saves.poll(101.0)
    counter, copy = read_counter(saves.path.read_bytes())
    assert counter == copy and counter >= 5
    assert not saves.poll(105.0)            # nothing changed since: nothing written
    assert saves.writes == 1


def test_close_writes_what_is_unsaved_and_the_next_session_goes_on_from_it(tmp_path):
    rom = counter_rom(tmp_path)
    gb = GameBoy.from_file(rom)
    saves = SaveManager(gb, rom)
    saves.load()
    gb.run_frames(10)
    assert saves.close()
    first, _ = read_counter(saves.path.read_bytes())
    again = GameBoy.from_file(rom)
    later = SaveManager(again, rom)
    assert later.load() == []
    again.run_frames(10)
    later.close()
    second, _ = read_counter(saves.path.read_bytes())
    assert second >= first + 9


def test_cartridge_without_battery_has_no_save(tmp_path):
    path = tmp_path / "volatile.gb"
    path.write_bytes(romimages.build_rom(counter_program(), cart_type=MBC1_RAM,
                                         ram_size_code=RAM_8K))
    gb = GameBoy.from_file(path)
    saves = SaveManager(gb, path)
    gb.run_frames(5)
    assert not saves.active and saves.load() == [] and not saves.close()
    assert not save_path(path).exists()


def test_wrong_size_save_is_kept_under_a_backup_name_and_partly_loaded(tmp_path):
    rom = counter_rom(tmp_path)
    original = bytes(range(256)) * 4                 # 1 KiB for an 8 KiB RAM
    sav = save_path(rom)
    sav.write_bytes(original)
    os.utime(sav, (1_000_000_000, 1_000_000_000))
    gb = GameBoy.from_file(rom)
    messages = SaveManager(gb, rom).load()
    assert len(messages) == 1 and "\n" not in messages[0]
    assert str(sav) in messages[0] and "1024 bytes" in messages[0] and "8192" in messages[0]
    backups = sorted(tmp_path.glob("counter.sav.bak-*"))
    assert len(backups) == 1 and backups[0].name in messages[0]
    assert backups[0].read_bytes() == original
    assert backups[0].stat().st_mtime == 1_000_000_000        # the very file, untouched
    assert bytes(gb.cart_ram[:1024]) == original and not gb.cart_ram[1024:].any()
    assert not sav.exists()


def test_a_backup_never_overwrites_an_earlier_one(tmp_path):
    sav = tmp_path / "game.sav"
    made = []
    for content in (b"first", b"second", b"third"):
        sav.write_bytes(content)
        made.append(keep_backup(sav, now=1_700_000_000))
    assert len(set(made)) == 3
    assert [path.read_bytes() for path in made] == [b"first", b"second", b"third"]
    assert made[1].name.endswith("-2") and made[2].name.endswith("-3")


def test_strict_mode_refuses_and_touches_nothing(tmp_path):
    rom = counter_rom(tmp_path)
    sav = save_path(rom)
    sav.write_bytes(b"\x01" * 100)
    gb = GameBoy.from_file(rom)
    with pytest.raises(SaveError) as caught:
        SaveManager(gb, rom, strict=True).load()
    assert str(sav) in str(caught.value) and "\n" not in str(caught.value)
    assert sav.read_bytes() == b"\x01" * 100
    assert list(tmp_path.glob("*.bak-*")) == []


def test_unreadable_save_is_moved_aside(tmp_path):
    rom = counter_rom(tmp_path)
    sav = save_path(rom)
    sav.mkdir()                                      # not a file at all
    (sav / "inside").write_bytes(b"keep me")
    gb = GameBoy.from_file(rom)
    saves = SaveManager(gb, rom)
    [message] = saves.load()
    assert "cannot read" in message and str(sav) in message
    [backup] = tmp_path.glob("counter.sav.bak-*")
    assert (backup / "inside").read_bytes() == b"keep me"
    gb.run_frames(5)
    assert saves.close()
    read_counter(sav.read_bytes())


def test_atomic_write_replaces_whole_and_keeps_the_file_mode(tmp_path):
    target = tmp_path / "game.sav"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["game.sav"]     # no temporary left


def test_a_failed_write_is_reported_once_and_retried(tmp_path):
    rom = counter_rom(tmp_path)
    gb = GameBoy.from_file(rom)
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    saves = SaveManager(gb, rom, save_dir=blocker / "saves")
    saves.load()
    gb.run_frames(3)
    saves.poll(0.0)
    with pytest.raises(SaveError, match="cannot write the save"):
        saves.poll(1.0)
    gb.run_frames(3)
    assert not saves.poll(2.0)              # the same problem again: not raised twice
    blocker.unlink()
    assert saves.poll(3.0)
    read_counter((blocker / "saves" / "counter.sav").read_bytes())


# -- the MBC3 clock in the save --------------------------------------------------------

def rtc_cartridge():
    gb = GameBoy(banked_rom(MBC3_RTC_RAM_BATTERY, 64 << 10, 8 << 10))
    cpu_write(gb, 0x0000, 0x0A)
    return gb


def test_clock_footer_is_the_48_byte_layout_after_the_ram():
    gb = rtc_cartridge()
    cpu_write(gb, 0xA000, 0x42)
    for reg, value in zip(range(0x08, 0x0D), (5, 6, 7, 8, 0x41)):      # halted clock
        cpu_write(gb, 0x4000, reg)
        cpu_write(gb, 0xA000, value)
    data = gb.save_ram(now=1_700_000_000)
    assert gb.save_sizes == (0x2000, 0x2000 + 48, 0x2000 + 44)
    assert len(data) == 0x2000 + 48 and data[0] == 0x42
    fields = struct.unpack("<10IQ", data[0x2000:])
    assert fields == (5, 6, 7, 8, 0x41, 5, 6, 7, 8, 0x41, 1_700_000_000)


@pytest.mark.parametrize("footer", ["<10IQ", "<11I"])
def test_time_passes_while_gbemu_is_closed(footer):
    gb = rtc_cartridge()
    now = 1_700_000_000
    away = 2 * 86_400 + 3 * 3600 + 4 * 60 + 5
    registers = (50, 10, 20, 100, 0)               # day 100, 20:10:50
    data = bytes(0x2000) + struct.pack(footer, *registers, *registers, now - away)
    gb.load_ram(data, now=now)
    assert rtc_read(gb) == [55, 14, 23, 102, 0]
    # The clock runs on from there in emulated time and is stamped as it stands.
    idle_seconds = 2
    s = gb.state[0]
    s["wram"][0x100:0x102] = [0x18, 0xFE]
    s["pc"] = 0xC100
    gb.run_cycles(idle_seconds * CLOCK_HZ)
    again = rtc_cartridge()
    again.load_ram(gb.save_ram(now=now + 100), now=now + 100)
    assert rtc_read(again)[:2] == [55 + idle_seconds, 14]


def test_an_rtc_cartridge_is_always_written_on_close(tmp_path):
    rom = tmp_path / "clock.gb"
    rom.write_bytes(banked_rom(MBC3_RTC_RAM_BATTERY, 64 << 10, 8 << 10))
    gb = GameBoy.from_file(rom)
    saves = SaveManager(gb, rom)
    saves.load()
    assert saves.close()
    assert len(save_path(rom).read_bytes()) == 0x2000 + 48


# -- the command line --------------------------------------------------------------------

def test_cli_strict_saves_exit_2_with_one_line(tmp_path, capsys):
    rom = counter_rom(tmp_path)
    save_path(rom).write_bytes(b"\x00" * 10)
    status = cli.main(["run", str(rom), "--headless", "--frames", "2", "--strict-saves"])
    err = capsys.readouterr().err
    assert status == 2
    lines = [line for line in err.splitlines() if "compiling" not in line]
    assert len(lines) == 1 and str(save_path(rom)) in lines[0]
    assert save_path(rom).read_bytes() == b"\x00" * 10


def test_cli_save_dir_loads_and_saves_there(tmp_path, capsys):
    rom = counter_rom(tmp_path)
    folder = tmp_path / "saves"
    assert cli.main(["run", str(rom), "--headless", "--frames", "30",
                     "--save-dir", str(folder)]) == 0
    first, _ = read_counter((folder / "counter.sav").read_bytes())
    assert cli.main(["run", str(rom), "--headless", "--frames", "30",
                     "--save-dir", str(folder)]) == 0
    second, _ = read_counter((folder / "counter.sav").read_bytes())
    assert first >= 28 and second >= first + 28
    assert not save_path(rom).exists()


def start_gbemu(rom: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gbemu", "run", str(rom), "--headless", "--seconds", "100000",
         *extra],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def wait_for_new_save(path: Path, process, after_ns: int = 0, timeout: float = 30.0):
    """Wait until the save's mtime is past ``after_ns``; returns (mtime_ns, contents)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            mtime = path.stat().st_mtime_ns
            if mtime > after_ns:
                return mtime, path.read_bytes()
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise AssertionError(f"no new save within {timeout} s")


def test_sigkill_while_writing_leaves_the_last_save_whole_and_recent(tmp_path):
    rom = counter_rom(tmp_path)
    sav = save_path(rom)
    process = start_gbemu(rom)
    try:
        mtime, data = wait_for_new_save(sav, process, timeout=STARTUP_SECONDS)
        seen = [read_counter(data)[0]]
        for _ in range(2):                  # a few more periodic saves, counting on
            mtime, data = wait_for_new_save(sav, process, mtime)
            seen.append(read_counter(data)[0])
        time.sleep(0.9)                     # just before the next save is due
        killed_at = time.time_ns()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
        process.wait()
    counter, copy = read_counter(sav.read_bytes())
    assert seen == sorted(seen) and seen[-1] > seen[0]
    assert counter >= seen[-1]
    assert copy in (counter, counter - 1)   # a RAM snapshot between two frames
    # About a second: saves come a second after the first unsaved change, plus
    # the time to finish a frame and write; a loaded machine adds some more.
    age = (killed_at - sav.stat().st_mtime_ns) / 1e9
    assert age < 2.0, f"the last save was {age:.2f} s old at the kill (counters seen {seen})"


def test_sigterm_saves_and_exits(tmp_path):
    rom = counter_rom(tmp_path)
    sav = save_path(rom)
    process = start_gbemu(rom)
    try:
        mtime, data = wait_for_new_save(sav, process, timeout=STARTUP_SECONDS)
        before = read_counter(data)[0]
        time.sleep(0.1)                     # let the game count on
        sent_at = time.time_ns()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 128 + signal.SIGTERM, err.decode()
    assert sav.stat().st_mtime_ns >= sent_at - 20_000_000     # written on the way out
    counter, copy = read_counter(sav.read_bytes())
    assert counter > before and copy in (counter, counter - 1)
