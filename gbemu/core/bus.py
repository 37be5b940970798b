"""The bus: every CPU access advances the machine one M-cycle, then routes.

``read`` and ``write`` first tick the clock by one M-cycle (4 T-cycles) and,
when a unit's predicted event falls due, bring the units up to date; then the
access lands where the address says. Units that own a register are synced
before it is read or written, so they are never seen out of date.

In eager mode every tick syncs every unit; a differential test compares it
with the lazy schedule.
"""

import numpy as np
from numba import njit

from gbemu.core.hwio import (
    IO_BASE, HRAM_START, IE_ADDR, VRAM_START, ERAM_START, WRAM_START, OAM_START,
    UNUSABLE_START, P1, SB, SC, DIV, TIMA, TMA, TAC, IF, LCDC, STAT, LY, LYC, DMA,
    BOOT, SOUND_START, WAVE_END, EV_SERIAL, EV_WATCH, INT_JOYPAD,
    DEBUG_WATCH, DEBUG_WATCH_ROM_READ, DEBUG_WATCH_RAM_READ, DEBUG_WATCH_RAM_WRITE,
    BP_READ, BP_WRITE,
)
from gbemu.core.hwio import (  # io-field offsets
    R_DMA, R_IF, R_P1, R_SB,
)
from gbemu.core.timer import timer_sync, timer_next_event, timer_write
from gbemu.core.ppu import (
    ppu_sync, ppu_next_event, update_stat, lcdc_write, vram_blocked, oam_blocked,
    oam_corrupt, OAM_BUG_WRITE, OAM_BUG_READ, OAM_BUG_READ_IDU,
)
from gbemu.core.cart import cart_write, cart_ram_read, cart_ram_write
from gbemu.core.apu import apu_sync, apu_next_event, apu_read, apu_write
from gbemu.core.state import SERIAL_LOG_SIZE


DMA_BYTES = 160

# bus_special: which reads the careful path must serve (write_special: all
# writes or none). read() tests bus_special as a whole, in one test, and
# leaves the rest to read_slow.
SPECIAL_ROM_READ = 1
SPECIAL_RAM_READ = 2               # WRAM and HRAM


@njit
def update_bus_special(s):
    """Which accesses must leave the fast paths for the careful one (read_special,
    write_slow): all of them for the flat test bus, the boot ROM and OAM DMA.

    For a watchpoint on ROM, WRAM or HRAM only what it covers (DEBUG_WATCH_*:
    ROM reads, RAM reads, RAM writes), since read() and write() serve those
    inline without looking at watchpoints; so a run without one pays nothing,
    and a write watch on WRAM leaves every read fast. Accesses elsewhere (I/O,
    VRAM, OAM, cartridge RAM, writes to ROM) take the slow path anyway, where
    DEBUG_WATCH alone has them checked.
    """
    if s.flat_bus or s.boot_mapped or s.dma_active:
        s.bus_special = SPECIAL_ROM_READ | SPECIAL_RAM_READ
        s.write_special = 1
        return
    special = 0
    if s.debug & DEBUG_WATCH_ROM_READ:
        special |= SPECIAL_ROM_READ
    if s.debug & DEBUG_WATCH_RAM_READ:
        special |= SPECIAL_RAM_READ
    s.bus_special = special
    s.write_special = 1 if s.debug & DEBUG_WATCH_RAM_WRITE else 0


@njit
def schedule(s):
    """Set next_event to the earliest time a unit must be brought up to date."""
    if s.eager:
        s.next_event = 0
        return
    soonest = min(timer_next_event(s), ppu_next_event(s), apu_next_event(s))
    if s.dma_active:
        soonest = min(soonest, s.dma_until + 4)
        if s.dma_copy_at:
            soonest = min(soonest, s.dma_copy_at)
    s.next_event = soonest


@njit
def sync(s):
    """Bring every unit up to s.clock.

    The APU only while it generates samples: with audio off it catches up
    when a sound register or DIV is touched, which is all the CPU can see.
    """
    timer_sync(s)
    ppu_sync(s)
    if s.audio_enabled:
        apu_sync(s)
    if s.dma_copy_at and s.clock >= s.dma_copy_at:
        dma_copy(s)
    if s.dma_active and s.clock > s.dma_until:
        s.dma_active = 0
        update_bus_special(s)
    schedule(s)


@njit
def tick(s):
    """One M-cycle passes."""
    s.clock += 4
    if s.clock >= s.next_event:
        sync(s)


@njit
def io_peek(s, addr):
    reg = addr - IO_BASE
    if addr == P1:
        # The selected rows of the button matrix; a pressed button reads 0.
        select = np.int64(s.io[R_P1]) & 0x30
        lines = 0x0F
        if not select & 0x10:
            lines &= ~(np.int64(s.buttons) & 0x0F)
        if not select & 0x20:
            lines &= ~(np.int64(s.buttons) >> 4)
        return 0xC0 | select | lines
    if addr == DIV:
        return (s.sys_counter >> 8) & 0xFF
    if SOUND_START <= addr < WAVE_END:
        return apu_read(s, addr)
    return np.int64(s.io[reg]) | np.int64(s.io_unused[reg])


@njit
def peek(s, addr):
    """The byte the CPU would read at addr, without time passing or DMA blocking."""
    if s.flat_bus:
        return np.int64(s.flat[addr])
    if addr < VRAM_START:
        if addr < 0x100 and s.boot_mapped:
            return np.int64(s.boot[addr])
        if addr < 0x4000:
            return np.int64(s.rom[s.rom0_offset + addr])
        return np.int64(s.rom[s.romx_offset + addr])
    if addr < ERAM_START:
        return np.int64(s.vram[addr - VRAM_START])
    if addr < WRAM_START:
        return cart_ram_read(s, addr)
    if addr < OAM_START:
        return np.int64(s.wram[addr & 0x1FFF])
    if addr < UNUSABLE_START:
        return np.int64(s.oam[addr - OAM_START])
    if addr < IO_BASE:
        return np.int64(0)
    if addr < HRAM_START:
        return io_peek(s, addr)
    if addr < IE_ADDR:
        return np.int64(s.hram[addr - HRAM_START])
    return np.int64(s.ie)


@njit
def dma_blocks(s, addr):
    """During OAM DMA the CPU cannot reach OAM, nor the bus the DMA reads from.

    The DMG has two buses: VRAM's, and the external one (cartridge, WRAM).
    """
    if not s.dma_active or not s.dma_from <= s.clock <= s.dma_until or addr >= IO_BASE:
        return False
    if addr >= OAM_START:
        return True
    source = np.int64(s.io[R_DMA]) << 8
    return (VRAM_START <= addr < ERAM_START) == (VRAM_START <= source < ERAM_START)


@njit
def ppu_blocks(s, addr, writing):
    """VRAM and OAM are the PPU's while it reads them (the PPU is synced first)."""
    if addr >= VRAM_START and addr < ERAM_START:
        ppu_sync(s)
        return vram_blocked(s, writing)
    if addr >= OAM_START and addr < IO_BASE:
        ppu_sync(s)
        if writing:
            oam_corrupt(s, np.int64(OAM_BUG_WRITE))
        else:
            oam_corrupt(s, np.int64(OAM_BUG_READ_IDU if s.idu_read else OAM_BUG_READ))
        return oam_blocked(s, writing)
    return False


@njit
def idu_glitch(s, value):
    """The CPU's 16-bit increment/decrement unit puts its input on the address
    bus: in $FE00-$FEFF that collides with the OAM scan like a write."""
    if value >= OAM_START and value < IO_BASE:
        ppu_sync(s)
        oam_corrupt(s, np.int64(OAM_BUG_WRITE))


@njit
def watch(s, addr, value, kind):
    """A debugger watchpoint: note the first watched access of the instruction."""
    if s.debug_map[addr] & kind and not s.events & EV_WATCH:
        s.events |= EV_WATCH
        s.watch_addr = addr
        s.watch_value = value
        s.watch_kind = kind
        s.watch_old = peek(s, addr) if kind == BP_WRITE else value


@njit
def read_special(s, addr):
    """A read that may touch I/O, run into OAM DMA, hit a watchpoint, or use
    the flat test bus."""
    if s.flat_bus:
        value = np.int64(s.flat[addr])
    elif addr >= IO_BASE and addr < HRAM_START:
        sync(s)
        value = peek(s, addr)
    elif dma_blocks(s, addr) or ppu_blocks(s, addr, np.int64(0)):
        value = np.int64(0xFF)
    else:
        value = peek(s, addr)
    if s.debug & DEBUG_WATCH:
        watch(s, addr, value, np.int64(BP_READ))
    return value


@njit
def read(s, addr):
    """A CPU read: one M-cycle passes, then the byte at addr is read.

    Kept small so the compiler inlines it: ROM, WRAM and HRAM reads with
    nothing due and nothing special are served here; everything else goes to
    read_slow, which serves those of them that no watch covers itself (one
    test here: a test per region cost cpu_instrs a quarter of its speed).
    """
    clock = s.clock + 4
    if clock < s.next_event and not s.bus_special:
        if addr < 0x8000:
            s.clock = clock
            offset = s.rom0_offset if addr < 0x4000 else s.romx_offset
            return np.int64(s.rom[offset + addr])
        if addr >= WRAM_START and addr < 0xE000:
            s.clock = clock
            return np.int64(s.wram[addr - WRAM_START])
        if addr >= HRAM_START and addr < IE_ADDR:
            s.clock = clock
            return np.int64(s.hram[addr - HRAM_START])
    return read_slow(s, addr)


@njit
def read_slow(s, addr):
    """read() when a unit is due, the access is special, or the address is not
    plain ROM, WRAM or HRAM."""
    tick(s)
    if addr < 0x8000:
        if not s.bus_special & SPECIAL_ROM_READ:
            offset = s.rom0_offset if addr < 0x4000 else s.romx_offset
            return np.int64(s.rom[offset + addr])
    elif not s.bus_special & SPECIAL_RAM_READ:
        if addr >= WRAM_START and addr < 0xE000:
            return np.int64(s.wram[addr - WRAM_START])
        if addr >= HRAM_START and addr < IE_ADDR:
            return np.int64(s.hram[addr - HRAM_START])
    return read_special(s, addr)


@njit
def dma_start(s, page):
    """OAM DMA: 160 bytes from page*$100; the CPU is locked out while it runs."""
    s.io[R_DMA] = page
    # One M-cycle of setup, then one byte per M-cycle. A restart keeps the bus
    # blocked through its setup cycle.
    if not (s.dma_active and s.dma_from <= s.clock <= s.dma_until):
        s.dma_from = s.clock + 8
    s.dma_copy_at = s.clock + 8
    s.dma_until = s.clock + 4 + 4 * DMA_BYTES
    s.dma_active = 1
    update_bus_special(s)


@njit
def dma_copy(s):
    """The transfer itself, done at once when it starts: from then on the CPU can
    see neither OAM nor the source bus, so nothing can tell the bytes apart."""
    source = np.int64(s.io[R_DMA]) << 8
    if source >= 0xE000:
        source -= 0x2000     # the DMA sees WRAM where the CPU sees echo, OAM and I/O
    for i in range(DMA_BYTES):
        s.oam[i] = peek(s, source + i)
    s.dma_copy_at = 0


@njit
def io_write(s, addr, value):
    sync(s)
    reg = addr - IO_BASE
    if addr == P1:
        # Selecting a row whose button is held pulls an input line low: that
        # falling edge requests the joypad interrupt, as a press does.
        before = io_peek(s, P1) & 0x0F
        s.io[R_P1] = value & 0x30
        if before & ~io_peek(s, P1) & 0x0F:
            s.io[R_IF] = s.io[R_IF] | INT_JOYPAD
    elif addr == SB:
        s.io[R_SB] = value
    elif addr == SC:
        # With bit 7 and the internal clock, 8 bits go out (timer.py clocks them).
        s.io[reg] = value | 0x7E
        s.serial_bits = 8 if value & 0x81 == 0x81 else 0
        if value & 0x81 == 0x81:
            s.serial_log[s.serial_len % SERIAL_LOG_SIZE] = s.io[R_SB]
            s.serial_len += 1
            s.events |= EV_SERIAL
    elif addr == DIV or addr == TIMA or addr == TMA or addr == TAC:
        timer_write(s, addr, value)
    elif addr == IF:
        s.io[R_IF] = value & 0x1F
    elif addr == LCDC:
        lcdc_write(s, value)
    elif addr == STAT:
        s.io[reg] = (np.int64(s.io[reg]) & 0x87) | (value & 0x78)
        update_stat(s)
    elif addr == LY:
        pass
    elif addr == LYC:
        s.io[reg] = value
        update_stat(s)
    elif addr == DMA:
        dma_start(s, value)
    elif addr == BOOT:
        if value:
            s.boot_mapped = 0
            update_bus_special(s)
    elif SOUND_START <= addr < WAVE_END:
        apu_write(s, addr, value)
    else:
        s.io[reg] = value
    schedule(s)


@njit
def poke(s, addr, value):
    """Store a byte where the CPU's write would land (time already advanced)."""
    if s.flat_bus:
        s.flat[addr] = value
    elif addr < VRAM_START:
        cart_write(s, addr, value)
    elif addr < ERAM_START:
        s.vram[addr - VRAM_START] = value
    elif addr < WRAM_START:
        cart_ram_write(s, addr, value)
    elif addr < OAM_START:
        s.wram[addr & 0x1FFF] = value
    elif addr < UNUSABLE_START:
        s.oam[addr - OAM_START] = value
    elif addr < IO_BASE:
        pass
    elif addr < HRAM_START:
        io_write(s, addr, value)
    elif addr < IE_ADDR:
        s.hram[addr - HRAM_START] = value
    else:
        s.ie = value


@njit
def write(s, addr, value):
    """A CPU write: one M-cycle passes, then the byte lands.

    Kept small so the compiler inlines it: WRAM and HRAM writes with nothing
    due land here; everything else goes to write_slow.
    """
    clock = s.clock + 4
    if clock < s.next_event and not s.write_special:
        if addr >= WRAM_START and addr < 0xE000:
            s.clock = clock
            s.wram[addr - WRAM_START] = value
            return
        if addr >= HRAM_START and addr < IE_ADDR:
            s.clock = clock
            s.hram[addr - HRAM_START] = value
            return
    write_slow(s, addr, value)


@njit
def write_slow(s, addr, value):
    """write() when a unit is due, the bus is special, or the address is not
    WRAM or HRAM."""
    tick(s)
    if not s.write_special:
        if addr >= WRAM_START and addr < 0xE000:
            s.wram[addr - WRAM_START] = value
            return
        if addr >= HRAM_START and addr < IE_ADDR:
            s.hram[addr - HRAM_START] = value
            return
    if s.debug & DEBUG_WATCH:
        watch(s, addr, value, np.int64(BP_WRITE))
    if dma_blocks(s, addr) and not s.flat_bus:
        return
    if not s.flat_bus and ppu_blocks(s, addr, np.int64(1)):
        return
    poke(s, addr, value)
