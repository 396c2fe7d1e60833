"""Leaks at the end of a run, the way kmemleak lists them (mm/kmemleak.c).

A leak here is an object still allocated when every CPU has finished its
teardown: a correct workload frees what it kept (op mixes drain what they
hold and their mailbox; workload modules free in ``teardown``).  There is no
reference scan -- the model cannot see the workload's Python variables -- so
"unreferenced" means "never freed".

Who reports what.  Each CPU's ``finish`` runs right after its own teardown,
while other CPUs may still be freeing (a teardown frees objects that another
CPU allocated and handed over).  So ``finish`` first marks this CPU done in
the arena and waits until every CPU is done (bounded; an aborted run or a CPU
that died skips the scan rather than report false leaks), then reports only
the objects *this CPU allocated* (the alloc track's CPU): every leaked object
is reported exactly once, by the CPU that allocated it.  One report per
allocation site, listing the first few objects::

    unreferenced object 0xffff888000123400 (size 64):
      comm "mmstress/0", pid 1234, cpu 0, process context, op 57
      hex dump (first 32 bytes):
        00 01 02 03 ...
      backtrace:
        scenarios/workloads/bugs/leak.py:20 (process)
    kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)

vmalloc areas still mapped at the end are reported by the CPU that made
them (the vmap_area row records it; no site).  Large kmalloc (page
allocator) memory is not tracked.

Arena section: ``kmemleak_done`` u64[MAX_CPUS], slot c = 1 once CPU c has
torn down (written only by CPU c).
"""

import importlib
import time

import numpy as np

from kernel_model import context
from kernel_model import slab_common as sc
from kernel_model.page import PGTY_slab

from harness.runtime import counters as C
from .base import Checker
from .record import rel

MAX_CPUS = 64
WAIT_LIMIT = 20.0        # seconds to wait for the other CPUs' teardown
SHOW = 4                 # objects listed per allocation site


class KmemleakChecker(Checker):
    name = "kmemleak"

    @staticmethod
    def arena_sections(max_locks=None):
        return [("kmemleak_done", "Q", MAX_CPUS)]

    def finish(self):
        node = self.pgdat
        if node is None or getattr(node, "slab", None) is None:
            return
        if not self._wait_for_teardown():
            return
        me = context.this_cpu.id
        self.report_leaks(self.scan_slabs(me), self.scan_vmalloc(me))

    # -- the barrier -------------------------------------------------------------------
    def _wait_for_teardown(self):
        v = self.pgdat.arena.v
        done = v.get("kmemleak_done")
        if done is None or v.get("run_ctl") is None:
            return True                           # the model alone (tests): nothing to wait for
        me, n = context.this_cpu.id, self.pgdat.nr_cpus
        done[me] = 1
        ctl, phase, beat = v.get("run_ctl"), v.get("cpu_phase"), v.get("cpu_beat")
        deadline = time.monotonic() + WAIT_LIMIT
        while not all(done[c] for c in range(n)):
            if ctl is not None and ctl[C.CTL_ABORT]:
                return False
            if phase is not None and any(phase[c] >= C.PHASE_EXITED and not done[c]
                                         for c in range(n)):
                return False                      # a CPU died before its teardown ended
            if time.monotonic() > deadline:
                return False
            if beat is not None:
                beat[me] += 1                     # not a soft lockup: waiting on purpose
            time.sleep(0.001)
        return True

    # -- the scans ------------------------------------------------------------------------
    def scan_slabs(self, cpu):
        """{alloc site id: [(addr, size, track)]} of allocated objects that ``cpu`` allocated."""
        node = self.pgdat
        st = node.slab
        if not st.debug:
            return {}
        mm = node.mem_map
        state = np.frombuffer(st.obj_state, dtype=np.uint8)
        where = np.frombuffer(st.track_where, dtype=np.uint16)
        want = (cpu + 1) << 2
        out = {}
        for head in np.nonzero(np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab)[0]:
            head = int(head)
            s = sc.cache_by_id(st, mm.slab_cache[head] - 1)
            if s is None or not s.debug:
                continue
            objects = (mm.slab_counters[head] >> 16) & 0x7FFF
            r0 = head * st.rows_per_page
            live = np.nonzero(state[r0:r0 + objects] == sc.OBJ_ALLOCATED)[0]
            if not len(live):
                continue
            rows = r0 + live
            mine = rows[(where[2 * rows + sc.TRACK_ALLOC] & 0xFFFC) == want]
            base = (node.page_offset + (head << node.page_shift)
                    + st.allocator.slab_base(s, head) + s.red_left_pad)
            for row in mine:
                row = int(row)
                obj = base + (row - r0) * s.size
                info = sc.object_info(obj, node)
                out.setdefault(st.track_site[2 * row + sc.TRACK_ALLOC], []).append(
                    (obj, info.get("orig_size") or s.object_size, info.get("alloc")))
        return out

    def scan_vmalloc(self, cpu):
        """[(addr, size)] of vmalloc areas ``cpu`` made that are still mapped."""
        vmalloc = importlib.import_module("kernel_model.vmalloc")   # km.vmalloc is the function
        try:
            vm = vmalloc._space()
        except RuntimeError:                      # no vmalloc in this model
            return []
        out = []
        for row in range(vmalloc.MAX_VM_AREAS):
            start = vm.area[row * 4]
            if start and vm.area[row * 4 + 3] == cpu + 1:
                out.append((vm.start + ((start - 1) << self.pgdat.page_shift),
                            vm.area[row * 4 + 2] << self.pgdat.page_shift))
        return out

    # -- the report --------------------------------------------------------------------------
    def report_leaks(self, by_site, vmalloc_areas):
        node = self.pgdat
        data = node.data
        where = {sid: key for key, sid in node.slab.site_ids.items()}   # this CPU's sites
        for sid, objs in sorted(by_site.items()):
            t = objs[0][2]
            site = t["site"] if t else "?"
            if sid in where:                 # the whole path (the track keeps a basename)
                code, line = where[sid]
                site = f"{rel(code.co_filename)}:{line} ({code.co_name})"
            records = []
            for obj, size, track in objs:
                off = obj - node.page_offset
                records.append({"address": obj, "size": size, "alloc": track,
                                "hex": bytes(data[off:off + min(32, size)]).hex()
                                if len(records) < SHOW else ""})
            self.violation("leak", site=site, frames=[site], function="kmalloc", objects=records,
                           tracks={"alloc": t} if t else {})
        if vmalloc_areas:
            self.violation("leak", site="vmalloc", frames=[], function="vmalloc",
                           objects=[{"address": a, "size": n} for a, n in vmalloc_areas])
