"""The machine state: one numpy structured record holding everything.

Registers, I/O, memory regions, unit counters, the frame buffer and the ROM all
live in one record (an array of length 1, dtype ``STATE``). Every compiled
function takes that array and works on ``st[0]``; this keeps numba's reference
counting out of the hot loop, lets the compile cache work, and makes a save
state ``st.tobytes()``.

Times are counted in T-cycles (4,194,304 per second) in int64 fields.
"""

import numpy as np

ROM_MAX = 8 * 1024 * 1024        # MBC5's largest cartridge
ERAM_MAX = 128 * 1024            # MBC5's largest RAM
SERIAL_LOG_SIZE = 8192           # bytes sent on the link port, kept for the test runner
AUDIO_BUFFER_FRAMES = 16384      # stereo samples in the APU's ring (0.25 s at 65,536 Hz)
CALL_RING = 64                   # call frames the debugger's backtrace can show

# Register file layout: the SM83's 3-bit register code indexes r8 directly
# (B C D E H L - A); slot 6, which the code uses for [HL], stores F.
REG_B, REG_C, REG_D, REG_E, REG_H, REG_L, REG_F, REG_A = range(8)

STATE = np.dtype([
    # CPU
    ("r8", np.uint8, 8),
    ("sp", np.uint16),
    ("pc", np.uint16),
    ("ime", np.uint8),              # interrupt master enable
    ("ime_pending", np.uint8),      # EI takes effect after the next instruction
    ("halted", np.uint8),
    ("halt_bug", np.uint8),         # next opcode fetch does not advance PC
    ("locked", np.uint8),           # an unused opcode hung the CPU
    ("stopped", np.uint8),
    ("opcode", np.uint8),           # last opcode executed (for reports)
    ("idu_read", np.uint8),         # the read in progress shares its M-cycle with an
                                    # increment/decrement (OAM corruption bug)
    # Scheduling
    ("clock", np.int64),            # T-cycles since power on
    ("next_event", np.int64),       # units must be synced when clock reaches this
    ("eager", np.uint8),            # sync every unit on every bus access
    ("events", np.int64),           # EV_* bits raised since run() started
    ("event_mask", np.int64),       # which events make run() return
    ("flat_bus", np.uint8),         # unit tests: 64 KiB of plain RAM, no I/O
    ("bus_special", np.uint8),      # SPECIAL_* bits: which reads take the careful path
    ("write_special", np.uint8),    # writes take the careful path (see update_bus_special)
    ("break_on_ld_b_b", np.uint8),  # LD B,B raises EV_BREAKPOINT
    ("instructions", np.int64),
    # Timer: the 16-bit system counter (DIV is its upper byte) and TIMA's reload
    ("sys_counter", np.int64),
    ("timer_clock", np.int64),      # time the timer was last brought up to date
    ("tima_reload", np.uint8),      # 1: overflowed this M-cycle, 2: reloading from TMA
    # Serial
    ("serial_bits", np.int64),      # bits left in the transfer in progress
    ("serial_clock", np.int64),
    ("serial_log", np.uint8, SERIAL_LOG_SIZE),
    ("serial_len", np.int64),
    # Joypad: bits 0-3 right left up down, 4-7 A B select start; 1 = pressed
    ("buttons", np.uint8),
    # PPU
    ("ppu_clock", np.int64),
    ("ppu_line", np.int64),         # the line being drawn; LY differs on line 153
    ("ppu_dot", np.int64),          # dot within the current line, 0..455
    ("ppu_mode", np.uint8),
    ("ppu_mode3_len", np.int64),
    ("ppu_first_line", np.uint8),   # the line just after the LCD was switched on
    ("stat_line", np.uint8),        # the STAT interrupt line, for edge detection
    ("frames", np.int64),
    ("render", np.uint8),           # draw pixels into fb (off: timing only)
    ("window_line", np.int64),      # the window's own line counter
    ("window_seen_wy", np.uint8),   # LY has matched WY this frame
    ("window_drawn", np.uint8),     # the window showed on the current line
    ("line_obj_count", np.int64),   # objects found on this line by the OAM scan
    ("line_objs", np.uint8, 10),    # their OAM indices, in drawing priority order
    ("line_bg", np.uint8, 160),     # BG/window colour numbers of the line (OBJ priority)
    ("line_obj", np.uint8, 160),    # winning object pixel: colour | palette bit 2 | behind-BG bit 3
    # APU (gbemu/core/apu.py). Channel arrays: 0 pulse 1, 1 pulse 2, 2 wave, 3 noise.
    ("apu_clock", np.int64),        # time the APU was last brought up to date
    ("fs_step", np.int64),          # the frame sequencer step the next DIV tick runs, 0-7
    ("ch_on", np.uint8, 4),         # channel running (NR52 bits 0-3)
    ("ch_length", np.int64, 4),     # length counter: ticks left before the channel stops
    ("ch_volume", np.int64, 4),     # envelope volume 0-15 (pulse, noise)
    ("ch_env_timer", np.int64, 4),  # envelope ticks left before the next volume step
    ("ch_pos", np.int64, 4),        # duty step 0-7 (pulse), sample index 0-31 (wave)
    ("ch_next", np.int64, 4),       # time the channel's frequency timer next expires
    ("lfsr", np.int64),             # noise shift register (15 bits)
    ("sweep_freq", np.int64),       # channel 1 sweep's shadow frequency
    ("sweep_timer", np.int64),      # sweep ticks left before the next sweep step
    ("sweep_enabled", np.uint8),
    ("sweep_negated", np.uint8),    # a subtraction was computed since the trigger
    ("wave_sample", np.uint8),      # the wave channel's sample buffer: last byte read
    ("wave_read_at", np.int64),     # time of the wave channel's last wave RAM read
    ("audio_enabled", np.uint8),    # generate samples (off: registers and timing only)
    ("audio_acc", np.int64, 2),     # left, right: level x T-cycles since the last sample
    ("audio_write", np.int64),      # samples written to audio_buf since power on
    ("audio_read", np.int64),       # samples taken out by Python
    # OAM DMA: the bus is blocked for the CPU from dma_from to dma_until
    ("dma_active", np.uint8),
    ("dma_from", np.int64),
    ("dma_until", np.int64),
    ("dma_copy_at", np.int64),      # when the pending transfer's bytes land in OAM
    # Memory
    ("io", np.uint8, 0x80),
    ("io_unused", np.uint8, 0x80),  # bits of each I/O register that read as 1
    ("hram", np.uint8, 0x7F),
    ("ie", np.uint8),
    ("wram", np.uint8, 0x2000),
    ("vram", np.uint8, 0x2000),
    ("oam", np.uint8, 0xA0),
    ("fb", np.uint8, (144, 160)),   # shade indices 0-3
    ("boot", np.uint8, 0x100),      # a user's boot ROM, mapped while boot_mapped
    ("boot_mapped", np.uint8),
    # Cartridge
    ("mbc", np.uint8),
    ("rom_size", np.int64),
    ("ram_size", np.int64),
    ("ram_enabled", np.uint8),
    ("bank1", np.int64),            # ROM bank register: MBC1 BANK1, MBC2/3 ROMB, MBC5 ROMB1:0
    ("bank2", np.int64),            # MBC1 BANK2, MBC3 RAM bank or RTC select, MBC5 RAMB
    ("bank_mode", np.uint8),
    ("mbc1_multicart", np.uint8),   # MBC1M wiring: BANK2 shifted by 4, BANK1 4 bits
    ("has_rtc", np.uint8),          # MBC3 with its real-time clock
    ("has_rumble", np.uint8),       # MBC5 with a rumble motor on RAMB bit 3
    ("rumble", np.uint8),           # the rumble motor is on
    ("rtc", np.uint8, 5),           # MBC3 clock counters S M H DL DH, as they count
    ("rtc_latched", np.uint8, 5),   # the copy the CPU reads, taken at the last latch
    ("rtc_clock", np.int64),        # clock at which rtc was last brought up to date
    ("rtc_cycles", np.int64),       # T-cycles counted toward the clock's next second
    ("rtc_latch", np.uint8),        # the last value written to $6000-$7FFF
    ("rom0_offset", np.int64),      # ROM offset mapped at $0000
    ("romx_offset", np.int64),      # added to an address in $4000-$7FFF to index rom
    ("eram_offset", np.int64),
    ("eram_dirty", np.uint8),
    # Debugger: the calls the CPU made and has not returned from (a ring)
    ("call_depth", np.int64),       # calls outstanding; the ring keeps the newest CALL_RING
    ("call_return", np.uint16, CALL_RING),  # return address pushed (interrupt: the PC left)
    ("call_to", np.uint16, CALL_RING),     # where it went
    ("call_sp", np.uint16, CALL_RING),     # SP after the return address was pushed
    # Save states, rewind and the debugger's snapshots (gbemu/savestate.py) copy the
    # record from its start to the end of the cartridge RAM in use, so eram comes last
    # before the ROM, and what a state never needs lies after it: the ROM, the flat
    # test bus, the audio ring and the debugger's own settings.
    ("eram", np.uint8, ERAM_MAX),
    ("rom", np.uint8, ROM_MAX),
    ("flat", np.uint8, 0x10000),    # the flat test bus
    ("audio_buf", np.int16, (AUDIO_BUFFER_FRAMES, 2)),  # ring of stereo samples
    ("debug", np.uint8),            # DEBUG_* bits: what the run loop and bus check
    ("debug_map", np.uint8, 0x10000),  # per address: BP_EXEC, BP_READ, BP_WRITE
    ("watch_addr", np.int64),       # the first watched access of the last instruction
    ("watch_value", np.int64),      # the byte read or written
    ("watch_old", np.int64),        # for a write: the byte there before
    ("watch_kind", np.int64),       # BP_READ or BP_WRITE
], align=True)


def new_state():
    """A zeroed machine record (an array of length 1)."""
    return np.zeros(1, STATE)
