"""Leaks at the end of a run, the way kmemleak finds them (mm/kmemleak.c): unreferenced objects.

An object is a leak only if nothing refers to it when the run ends -- an
object a correct driver handed to another CPU and that still sits in a
mailbox is referenced, not leaked.  As kmemleak does, the scan is
conservative and transitive:

1. Roots (kmemleak scans the data sections and stacks; here, every place the
   harness can see a workload keep an address):
   - the mailboxes' queued entries (arena ``mbox_ring`` between head and tail),
   - every per-CPU variable's slots (``percpu_val``),
   - every slab's slab->freelist (kmemleak scans the struct pages too): the
     classic SLAB's OFF_SLAB index arrays are kmalloc objects only a slab
     refers to,
   - each CPU process's workload state, sent by the CPU after its teardown as
     a ``roots`` message (harness/supervisor/messages.py): the workload
     module's globals, what a workload keeps on ``k`` (``k.state`` or any
     public attribute), the op mixes' held lists -- ints found by walking
     lists, tuples, sets, dicts and the ``__dict__`` of the workload's own
     objects (not modules, classes, functions, nor harness or model objects;
     ``collect_roots``, bounded in depth and count).
2. A root value that points anywhere inside a live object (start or interior,
   as kmemleak's object lookup) makes the object referenced.
3. The memory of every referenced object is scanned for aligned pointer-size
   words (8 bytes on x86_64, 4 on x86_32) that point into other live
   objects, transitively: a list head kept in a global keeps its whole chain.
4. What is left is leaked: one report per allocation site listing the first
   few objects::

    unreferenced object 0xffff888000123400 (size 64):
      comm "mmstress/0", pid 1234, cpu 0, process context, op 57
      hex dump (first 32 bytes):
        00 01 02 03 ...
      backtrace:
        scenarios/workloads/bugs/leak.py:20 (process)
    kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)

Where the scan runs.  Reachability needs the global view (CPU 0's leak may be
referenced from CPU 1's module state), so the scan runs once, in the machine,
after every CPU has finished its teardown and exited, over the quiescent arena
(``scan_run``) -- never inside a CPU, and only when the run ended cleanly
(an aborted run or a dead CPU leaves objects mid-flight: no leak report).
Objects are known from the slab debug state (caches without debug data are
not tracked); vmalloc areas still mapped are objects too (referenced by a
pointer into them; their own contents are not scanned).  Large kmalloc
(page allocator) memory is not tracked.  Without page data only the roots
count (there is no object memory to scan).
"""

import importlib
import types

import numpy as np

from kernel_model import slab_common as sc
from kernel_model.page import PGTY_slab

from .base import Checker
from .kasan_pages import KasanPagesChecker
from .record import Violation, add_objects

SHOW = 4                 # objects listed per allocation site
ROOT_DEPTH = 8           # how deep collect_roots walks containers
ROOT_LIMIT = 1 << 20     # at most this many values looked at per CPU
_NOT_WORKLOAD = {"harness", "kernel_model", "multiprocess", "multiprocessing", "numpy", "random",
                 "builtins"}      # objects whose attributes are no workload state (k, the rng)


def collect_roots(objs, depth=ROOT_DEPTH, limit=ROOT_LIMIT):
    """Sorted distinct ints found in ``objs`` (ints, containers of them, objects' __dict__)."""
    out, seen, budget = set(), set(), [limit]

    def walk(o, d):
        if budget[0] <= 0:
            return
        budget[0] -= 1
        if isinstance(o, bool):
            return
        if isinstance(o, int):
            if o > 0:
                out.add(o)
            return
        if d <= 0 or isinstance(o, (str, bytes, bytearray, float, complex)) or o is None:
            return
        if id(o) in seen:
            return
        seen.add(id(o))
        if isinstance(o, dict):
            for k, v in o.items():
                walk(k, d - 1)
                walk(v, d - 1)
        elif isinstance(o, (list, tuple, set, frozenset)):
            for v in o:
                walk(v, d - 1)
        elif (hasattr(o, "__dict__") and not callable(o) and not isinstance(o, type)
              and not isinstance(o, types.ModuleType)
              and type(o).__module__.split(".", 1)[0] not in _NOT_WORKLOAD):
            walk(vars(o), d - 1)                 # a workload's own object (a device struct)

    for o in objs:
        walk(o, depth)
    return sorted(out)


class KmemleakChecker(Checker):
    name = "kmemleak"

    # -- the objects ----------------------------------------------------------------------
    def live_objects(self):
        """(starts, sizes, rows) of every allocated object of caches with debug data,
        sorted by address (numpy int64/uint64 arrays; rows index the debug state)."""
        node = self.pgdat
        st = node.slab
        starts, sizes, rows = [], [], []
        if st is None or not st.debug:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        mm = node.mem_map
        state = np.frombuffer(st.obj_state, dtype=np.uint8)
        for head in np.nonzero(np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab)[0]:
            head = int(head)
            s = sc.cache_by_id(st, mm.slab_cache[head] - 1)
            if s is None or not s.debug:
                continue
            objects = sc.slab_objects(mm.slab_counters[head])
            r0 = head * st.rows_per_page
            live = np.nonzero(state[r0:r0 + objects] == sc.OBJ_ALLOCATED)[0]
            if not len(live):
                continue
            base = (node.page_offset + (head << node.page_shift)
                    + st.allocator.slab_base(s, head) + s.red_left_pad)
            starts.append(np.uint64(base) + live.astype(np.uint64) * np.uint64(s.size))
            sizes.append(np.full(len(live), s.object_size, np.int64))
            rows.append(r0 + live.astype(np.int64))
        if not starts:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        starts, sizes, rows = np.concatenate(starts), np.concatenate(sizes), np.concatenate(rows)
        order = np.argsort(starts, kind="stable")
        return starts[order], sizes[order], rows[order]

    def vmalloc_areas(self):
        """[(addr, size, cpu that made it)] of vmalloc areas still mapped."""
        vmalloc = importlib.import_module("kernel_model.vmalloc")   # km.vmalloc is the function
        try:
            vm = vmalloc._space()
        except RuntimeError:                      # no vmalloc in this model
            return []
        out = []
        for row in range(vmalloc.MAX_VM_AREAS):
            start = vm.area[row * 4]
            if start:
                out.append((vm.start + ((start - 1) << self.pgdat.page_shift),
                            vm.area[row * 4 + 2] << self.pgdat.page_shift,
                            vm.area[row * 4 + 3] - 1))
        return out

    # -- the arena's roots ---------------------------------------------------------------------
    def arena_roots(self):
        """Addresses queued in the mailboxes and held in per-CPU variables."""
        v = self.pgdat.arena.v
        out = []
        ring, ctl = v.get("mbox_ring"), v.get("mbox_ctl")
        if ring is not None and ctl is not None:
            ncpu = len(ctl) // 2
            slots = len(ring) // (2 * ncpu) if ncpu else 0
            for c in range(ncpu):
                for i in range(ctl[2 * c], ctl[2 * c + 1]):
                    out.append(ring[(c * slots + i % slots) * 2])
        val, nr = v.get("percpu_val"), v.get("percpu_nr")
        if val is not None and nr is not None:
            used = nr[0]                      # rows in use, in every CPU's area
            area = len(val) // self.pgdat.nr_cpus
            for c in range(self.pgdat.nr_cpus):
                out += [x & 0xFFFFFFFFFFFFFFFF for x in val[c * area:c * area + used] if x]
        mm = self.pgdat.mem_map
        heads = np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab
        fl = np.frombuffer(mm.slab_freelist, dtype=np.uint64)[heads]
        out += fl[fl != 0].tolist()
        return out

    # -- the scan --------------------------------------------------------------------------------
    def scan(self, roots=(), ptr_size=8):
        """Report unreferenced objects; ``roots``: addresses the CPUs' processes hold."""
        node = self.pgdat
        if node is None or getattr(node, "slab", None) is None:
            return []
        starts, sizes, rows = self.live_objects()
        large = KasanPagesChecker(self.sink, node).large_objects()    # page-backed kmallocs
        if large:                      # rows < 0 name them: -1 - their index in ``large``
            starts = np.concatenate([starts, np.array([a for a, _, _ in large], np.uint64)])
            sizes = np.concatenate([sizes, np.array([n for _, n, _ in large], np.int64)])
            rows = np.concatenate([rows, -1 - np.arange(len(large), dtype=np.int64)])
            order = np.argsort(starts, kind="stable")
            starts, sizes, rows = starts[order], sizes[order], rows[order]
        areas = self.vmalloc_areas()
        n = len(starts)
        seen = np.zeros(n, bool)
        area_seen = [False] * len(areas)
        data = node.data
        top = np.uint64(node.page_offset)

        def mark(values):
            """Objects ``values`` point into, not yet seen; marks them."""
            vals = np.asarray(values, dtype=np.uint64)
            if not len(vals):
                return np.zeros(0, np.int64)
            for i, (a, size, _cpu) in enumerate(areas):
                if not area_seen[i] and np.any((vals >= a) & (vals < a + size)):
                    area_seen[i] = True
            if not n:
                return np.zeros(0, np.int64)
            idx = np.searchsorted(starts, vals, side="right").astype(np.int64) - 1
            ok = idx >= 0
            idx, vals = idx[ok], vals[ok]
            inside = (vals - starts[idx]) < sizes[idx].astype(np.uint64)
            new = np.unique(idx[inside])
            new = new[~seen[new]]
            seen[new] = True
            return new

        frontier = mark(list(roots) + self.arena_roots())
        dtype = np.dtype("<u8") if ptr_size == 8 else np.dtype("<u4")
        while len(frontier) and data is not None:
            words = []
            for i in frontier:
                start, size = int(starts[i]), int(sizes[i])
                off = start - node.page_offset
                a = (off + ptr_size - 1) // ptr_size * ptr_size
                count = (off + size - a) // ptr_size
                if count > 0:
                    words.append(np.frombuffer(data, dtype=dtype, count=count, offset=a))
            if not words:
                break
            w = np.concatenate(words).astype(np.uint64)
            frontier = mark(w[w >= top])
        left = rows[~seen]
        self._report(starts[~seen][left >= 0], left[left >= 0])
        self._report_large([large[-1 - int(r)] for r in left[left < 0]])
        self._report_vmalloc([a for a, s in zip(areas, area_seen) if not s])
        return self.sink.violations

    # -- the report ---------------------------------------------------------------------------
    def _record(self, site, function, objects, track):
        """One leak record per allocation site, on the CPU that allocated its first object
        (the scan runs in the machine, which has no CPU of its own)."""
        t = track or {}
        v = Violation(kind="leak", cpu=t.get("cpu"), context=t.get("context") or "process",
                      pid=t.get("pid") or 0, comm=f"mmstress/{t.get('cpu')}" if t else "",
                      seq=t.get("seq") or 0, site=site, frames=[site] if site != "vmalloc" else [],
                      function=function, tracks={"alloc": t} if t else {})
        add_objects(v, objects[:SHOW], dropped=max(0, len(objects) - SHOW))
        v.details = {"leaks": len(objects)}
        return self.sink.add(v)

    def _report(self, objs, rows):
        node = self.pgdat
        st = node.slab
        data = node.data
        by_site = {}
        for obj, row in zip(objs.tolist(), rows.tolist()):
            by_site.setdefault(st.track_site[2 * row + sc.TRACK_ALLOC], []).append(obj)
        groups = {}                   # site ids are per process: merge ids of one site text
        for _sid, addrs in sorted(by_site.items()):
            t = sc.object_info(addrs[0], node).get("alloc")
            groups.setdefault(t["site"] if t else "?", []).extend(addrs)
        for site, addrs in groups.items():
            addrs.sort()
            objects = []
            for obj in addrs[:SHOW]:
                info = sc.object_info(obj, node)
                size = info.get("orig_size") or info.get("object_size")
                off = obj - node.page_offset
                objects.append({"address": obj, "size": size, "cache": info.get("cache"),
                                "alloc": info.get("alloc"),
                                "hex": bytes(data[off:off + min(32, size)]).hex()
                                if data is not None else ""})
            objects += [{"address": a} for a in addrs[SHOW:]]
            self._record(site, "kmalloc", objects, sc.object_info(addrs[0], node).get("alloc"))

    def _report_large(self, objs):
        """Unreferenced large kmallocs (KASAN's page shadow keeps their size and track)."""
        node = self.pgdat
        by_site = {}
        for addr, size, t in objs:
            by_site.setdefault(t["site"] if t else "?", []).append((addr, size, t))
        for site, group in by_site.items():
            group.sort(key=lambda o: o[0])
            objects = [{"address": a, "size": n, "cache": "kmalloc-large", "alloc": t,
                        "hex": bytes(node.data[a - node.page_offset:a - node.page_offset + 32]).hex()
                        if node.data is not None else ""} for a, n, t in group]
            self._record(site, "kmalloc", objects, group[0][2])

    def _report_vmalloc(self, areas):
        if not areas:
            return
        objects = [{"address": addr, "size": size, "alloc": {"cpu": cpu}} for addr, size, cpu in areas]
        self._record("vmalloc", "vmalloc", objects, {"cpu": areas[0][2], "context": "process"})


def scan_run(node, roots=(), ptr_size=8):
    """In the machine after a clean run: the leak records, as report dicts."""
    return [v.to_dict() for v in KmemleakChecker(None, node).scan(roots, ptr_size)]
