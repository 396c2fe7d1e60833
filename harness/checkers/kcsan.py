"""Data races, the way KCSAN finds them (CONFIG_KCSAN, kernel/kcsan/core.c, report.c).

A data race is two accesses to overlapping bytes from different CPUs or
contexts, at least one a write, at least one plain (not atomic_*, READ_ONCE/
WRITE_ONCE, this_cpu_inc/add), that happen at the same time.  Like KCSAN this
checker sees a race only when it happens, never by reasoning about locks, so
correctly locked or published data cannot be reported: a lock holder's
access and another CPU's access to the same data never overlap in time.

Watchpoints (kcsan_setup_watchpoint / kcsan_found_watchpoint).  Before a
plain access (``debug.hooks.check_access``) a context arms the watchpoint slot
of its (CPU, context) in the arena with the address, size and type, reads the
value, *delays*, reads the value again and disarms.  Every access of every
CPU first scans the armed slots: one that overlaps it and conflicts (a write
on either side, not both marked) is "consumed": the finder writes its own
access and workload frames into the slot.  When the delay ends, a consumed
slot or a changed value is a data race, reported by the watcher with both
accesses -- or "race at unknown origin" when only the value changed.

The delay is what differs between modes:
    serialised (random, pct, replay) and free   the access's own scheduling point
        (harness.runtime.access): whatever runs while the watcher is switched
        out -- another CPU, or an interrupt delivered there -- is inside the
        window.  Every plain access to shared data is watched (no sampling),
        so the check is exact: a race is reported if and only if the schedule
        puts a conflicting access inside another context's access.  The window
        is that one access: a read-modify-write split at another point (an
        allocator call between the read and the write) is not reported.
    none   one plain access in SKIP_WATCH_SHARED to shared data (two (CPU,
        context) pairs touched it: harness.runtime.access tags it) and one in
        SKIP_WATCH to private data is watched (counted per CPU, not timed, as
        kcsan.skip_watch), and the watcher spins DELAY_US, as
        udelay(kcsan.udelay_task) (a busy spin: yielding the core made one
        watch cost a time slice on a loaded machine); an interrupt
        (a real signal) taken during the spin is inside the window too.

Per-CPU lost updates (the interrupt watcher for this_cpu_*).  A CPU's per-CPU
slots are touched only by its own contexts, so this part lives in the CPU's
process: ``this_cpu_read(x)`` opens a read-modify-write window of its context
on x, an interrupt's write to x inside it (this_cpu_inc, marked or not) is
recorded, and the interrupted context's plain ``this_cpu_write(x, ...)`` that
closes the window is the lost update, reported with the read's and the
interrupt's frames and the value change the write overwrites.

Arena layout (every slot belongs to one (CPU, context): cpu * 4 + context)::

    kcsan_wp     i64[MAX_SLOTS * 8]   0 state (0 free, 1 armed, 2 consumed), 1 addr,
                                      2 size, 3 type, 4 finder's type, 5 finder's
                                      cpu << 8 | context, 6 finder's pid (-1: interrupt)
    kcsan_armed  u8[MAX_SLOTS]        1 while the slot is armed: every access compares this
                                      row with zeros first and scans the slots only if not
    kcsan_other  u8[MAX_SLOTS * 512]  the finder's workload frames, UTF-8, NUL-ended

No lock: a slot is written by its owner (arm, disarm) and by finders
(consume); two finders of one slot at once may mix their details, never lose
the report.
"""

import sys
import time

from kernel_model import slab_common as sc
from kernel_model import context

from harness.runtime.access import (KCSAN_ACCESS_ATOMIC, KCSAN_ACCESS_COMPOUND,
                                    KCSAN_ACCESS_PERCPU, KCSAN_ACCESS_SHARED, KCSAN_ACCESS_WRITE)

from .base import Checker
from .record import ENTRY_FILES, HARNESS_DIR, MODEL_DIR, _library, rel

MAX_SLOTS = 256
NF = 8
OTHER_BYTES = 512
FREE, ARMED, CONSUMED = 0, 1, 2
SKIP_WATCH = 64            # none mode: watch one plain access to private data in this many,
SKIP_WATCH_SHARED = 4      # and one in this many to data two contexts touched
DELAY_US = 40              # none mode: the watcher's spin
MAX_FRAMES = 4


def access_type(t):
    """get_access_type() of kernel/kcsan/report.c."""
    marked = " (marked)" if t & KCSAN_ACCESS_ATOMIC else ""
    if t & KCSAN_ACCESS_COMPOUND and t & KCSAN_ACCESS_WRITE:
        return "read-write" + marked
    return ("write" if t & KCSAN_ACCESS_WRITE else "read") + marked


def thread_desc(pid):
    return f"task {pid}" if pid >= 0 else "interrupt"


def workload_frames(frame):
    """[(function, "file:line")] of the innermost workload frames (not model, not harness)."""
    out = []
    while frame is not None and len(out) < MAX_FRAMES:
        fname = frame.f_code.co_filename
        if fname.startswith(ENTRY_FILES):       # the CPU's call of the workload: below is ours
            break
        if not fname.startswith((MODEL_DIR, HARNESS_DIR)) and not _library(fname):
            out.append((frame.f_code.co_name, f"{rel(fname)}:{frame.f_lineno}"))
        frame = frame.f_back
    return out or [("?", "?")]


def _frames_text(frames):
    return "\n".join(f" {fn} ({where})" for fn, where in frames)


def _conflict(a, b):
    return bool((a | b) & KCSAN_ACCESS_WRITE) and not (a & b & KCSAN_ACCESS_ATOMIC)


def _s64(addr):
    """An address as the signed 64-bit word the arena holds (kernel addresses are high)."""
    return addr - (1 << 64) if addr >= 1 << 63 else addr


def _u64(addr):
    return addr & 0xFFFFFFFFFFFFFFFF


def _value(mem, off, size, percpu):
    if percpu:
        return mem[off] & 0xFFFFFFFFFFFFFFFF
    return int.from_bytes(mem[off:off + min(size, 8)], "little")


class KcsanChecker(Checker):
    name = "kcsan"

    @staticmethod
    def arena_sections(max_locks=None):
        return [("kcsan_wp", "q", MAX_SLOTS * NF), ("kcsan_armed", "B", MAX_SLOTS),
                ("kcsan_other", "B", MAX_SLOTS * OTHER_BYTES)]

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        arena = pgdat.arena
        self.wp = arena.v["kcsan_wp"]
        self.other = arena.v["kcsan_other"]
        self.armed = arena.v["kcsan_armed"]
        self.nslots = min(MAX_SLOTS, pgdat.nr_cpus * 4)
        self.none_armed = bytes(self.nslots)
        cpu = context.this_cpu
        self.skip = SKIP_WATCH // 2 + (cpu.id * 7) % SKIP_WATCH if cpu is not None else SKIP_WATCH
        self.open = {}             # per-CPU slot -> [context, value read, frames, hit or None]

    # -- the hook -------------------------------------------------------------------------
    def check_access(self, addr, size, type, delay=None, mem=None, off=0):
        if type & KCSAN_ACCESS_PERCPU:
            if delay is not None:
                delay()
            self._percpu(addr, type, mem, off)
            return
        cpu = context.this_cpu
        me = (cpu.id * 4 + cpu.context()) % MAX_SLOTS
        addr = _s64(addr)
        if self.armed[:self.nslots] != self.none_armed:    # someone watches: scan the slots
            wp, base = self.wp, 0
            for s in range(self.nslots):
                if wp[base] == ARMED and s != me:
                    a = wp[base + 1]
                    if addr < a + wp[base + 2] and a < addr + size and _conflict(type, wp[base + 3]):
                        self._consume(s, base, type, cpu)
                base += NF
        if type & KCSAN_ACCESS_ATOMIC or mem is None:
            if delay is not None:
                delay()
            return
        if delay is None:
            self.skip -= SKIP_WATCH // SKIP_WATCH_SHARED if type & KCSAN_ACCESS_SHARED else 1
            if self.skip > 0:
                return
            self.skip = SKIP_WATCH
        self._watch(me, addr, size, type, delay, mem, off, cpu)

    # -- watchpoints ----------------------------------------------------------------------
    def _consume(self, s, base, type, cpu):
        """kcsan_found_watchpoint: tell the watcher who we are."""
        wp = self.wp
        frames = _frames_text(workload_frames(sys._getframe(1))).encode()[:OTHER_BYTES - 1]
        o = s * OTHER_BYTES
        self.other[o:o + len(frames) + 1] = frames + b"\0"
        wp[base + 4] = type
        wp[base + 5] = cpu.id << 8 | cpu.context()
        wp[base + 6] = cpu.pid if cpu.context() == context.CTX_TASK else -1
        wp[base] = CONSUMED

    def _watch(self, me, addr, size, type, delay, mem, off, cpu):
        """kcsan_setup_watchpoint: arm, read, delay, re-read, disarm, report."""
        wp, base = self.wp, me * NF
        if wp[base] != FREE:
            if delay is not None:          # nested (an interrupt inside our own window): no watch
                delay()
            return
        old = _value(mem, off, size, False)
        wp[base + 1] = addr
        wp[base + 2] = size
        wp[base + 3] = type
        wp[base] = ARMED
        self.armed[me] = 1
        try:
            if delay is not None:
                delay()
            else:
                end = time.perf_counter() + DELAY_US * 1e-6
                while time.perf_counter() < end:
                    pass
        finally:
            state = wp[base]
            wp[base] = FREE
            self.armed[me] = 0
        new = _value(mem, off, size, False)
        if state == CONSUMED or old != new:
            self._report_race(me, _u64(addr), size, type, cpu, state == CONSUMED, old, new)

    def _report_race(self, me, addr, size, type, cpu, known, old, new):
        wp, base = self.wp, me * NF
        mine = workload_frames(sys._getframe(1))
        lines = []
        if known:
            o = me * OTHER_BYTES
            raw = bytes(self.other[o:o + OTHER_BYTES])
            other_text = raw.split(b"\0", 1)[0].decode(errors="replace")
            other_fn = other_text.split(" (", 1)[0].strip() or "?"
            finder = wp[base + 5]
            a, b = sorted((mine[0][0], other_fn))
            lines.append(f"BUG: KCSAN: data-race in {a} / {b}")
            lines += ["", f"{access_type(wp[base + 4])} to {addr:#x} of {size} bytes by "
                      f"{thread_desc(wp[base + 6])} on cpu {finder >> 8}:", other_text, ""]
            lines.append(f"{access_type(type)} to {addr:#x} of {size} bytes by "
                         f"{thread_desc(self._pid(cpu))} on cpu {cpu.id}:")
            fn, _, where = other_text.split("\n", 1)[0].strip().partition(" (")
            other_site = f"{where.rstrip(')')} ({fn})"
        else:
            lines.append(f"BUG: KCSAN: data-race in {mine[0][0]}")
            lines += ["", f"race at unknown origin, with {access_type(type)} to {addr:#x} of "
                      f"{size} bytes by {thread_desc(self._pid(cpu))} on cpu {cpu.id}:"]
            other_site = None
        lines.append(_frames_text(mine))
        self._finish(lines, size, old, new, cpu, mine, other_site, addr=addr)

    # -- per-CPU read-modify-write windows -------------------------------------------------
    def _percpu(self, addr, type, mem, off):
        cpu = context.this_cpu
        level = cpu.context()
        w = self.open.get(off)
        if type & KCSAN_ACCESS_WRITE:
            if w is None:
                return
            if level > w[0]:                               # an interrupt inside the window
                if w[3] is None:
                    w[3] = (type, level, workload_frames(sys._getframe(1)), _value(mem, off, 8, True))
                return
            if level != w[0]:
                return
            del self.open[off]
            if w[3] is not None and not type & KCSAN_ACCESS_ATOMIC:
                self._report_lost(addr, w, cpu, mem, off)
        elif not type & KCSAN_ACCESS_ATOMIC:
            self.open[off] = [level, _value(mem, off, 8, True), workload_frames(sys._getframe(1)), None]

    def _report_lost(self, addr, w, cpu, mem, off):
        level, old, read_frames, (itype, ilevel, iframes, _) = w
        new = _value(mem, off, 8, True)
        writer = workload_frames(sys._getframe(1))
        a, b = sorted((read_frames[0][0], iframes[0][0]))
        lines = [f"BUG: KCSAN: data-race in {a} / {b}", "",
                 f"{access_type(itype)} to {addr:#x} of 8 bytes by interrupt on cpu {cpu.id}:",
                 _frames_text(iframes), "",
                 f"read to {addr:#x} of 8 bytes by "
                 f"{thread_desc(cpu.pid if level == context.CTX_TASK else -1)} on cpu {cpu.id}:",
                 _frames_text(read_frames)]
        lines_tail = [f"", f"the interrupt's update is lost: {context.CTX_NAMES[level]} context "
                      f"writes back the value it read at {writer[0][1]} ({writer[0][0]})"]
        self._finish(lines, 8, old, new, cpu, read_frames, f"{iframes[0][1]} ({iframes[0][0]})",
                     lines_tail)

    # -- the report -------------------------------------------------------------------------
    def _data_key(self, addr):
        """``data in kmalloc-64 objects``: the raced object's cache, stable across runs (its
        fields are not told apart: a race on one field drags its neighbours along -- a lost
        update that frees early, a probe inside a section -- and is still one bug)."""
        if addr is None or self.pgdat is None or getattr(self.pgdat, "slab", None) is None:
            return None
        try:
            info = sc.object_info(addr, self.pgdat)
        except Exception:  # noqa: BLE001 - an address the slab cannot describe: no data key
            return None
        if not info or info.get("object") is None:
            return None
        return f"data in {info['cache']} objects"

    @staticmethod
    def _pid(cpu):
        return cpu.pid if cpu.context() == context.CTX_TASK else -1

    def _finish(self, lines, size, old, new, cpu, mine, other_site, tail=(), addr=None):
        if old != new:
            width = min(size, 8) * 2
            lines += ["", f"value changed: 0x{old:0{width}x} -> 0x{new:0{width}x}"]
        lines += list(tail)
        lines += ["", "Reported by Kernel Concurrency Sanitizer on:"]   # the CPU: line follows
        site = f"{mine[0][1]} ({mine[0][0]})"
        sites = {"access": site}
        if other_site:
            sites["racing access"] = other_site
        tracks = {k: {"site": v} for k, v in sites.items()}
        # One race is one bug, whichever access reported it and whether the other side is
        # known: keyed on the raced data (the slab object's cache), else on both lines.
        key_site = self._data_key(addr) or " / ".join(
            sorted({site.split(" (")[0], (other_site or site).split(" (")[0]}))
        self.violation("data-race", site=site, tracks=tracks, text="\n".join(lines),
                       key_site=key_site)
