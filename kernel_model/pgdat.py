"""pg_data_t: the node -- the arena, mem_map, zones, per-CPU pagesets.

``pglist_data(layout, nr_cpus, page_data, ...)`` builds the arena, computes
watermarks the way mm_init.c and page_alloc.c do, and frees every page into
the buddy lists in maximal aligned blocks (memblock_free_all ->
__free_pages_core).  ``kernel_model.boot`` (mm_init.py) makes one, adds the
slab allocator when asked, and makes it this process's ``NODE_DATA``
(``pgdat.current()``), so the page API (``alloc_pages(gfp, order)``) needs no
handle, as in the kernel.  Forked CPUs inherit it.  This module knows nothing
of slab: ``pgdat.slab`` and ``pgdat.vmalloc`` are set by mm_init.

Sections the node owns beyond page.py, zone.py, pcp.py and spinlock.py::

    node_meta  i64[8]   0 nr_cpus, 1 page_size, 2 nr_pages, 3 booted
    page_data  u8[...]  the bytes of every page (only with page_data=True)

The sections of the slab allocator and vmalloc come in ``slab_sections``
(mm_init.py lists them), just before page_data.
"""

import numpy as np

from . import context, page as page_mod, pcp as pcp_mod, spinlock, zone as zone_mod
from .arena import Arena
from .errors import ConfigError
from .gfp import MAX_NR_ZONES, ZONE_HIGHMEM, ZONE_MOVABLE
from .page import NIL, NO_OWNER, PGTY_buddy, Page
from .watermarks import (calculate_min_free_kbytes, setup_per_zone_lowmem_reserve,
                         setup_per_zone_wmarks, zone_batchsize, zone_highsize)
from .zone import (LOWMEM_RESERVE, MANAGED, MAX_PAGE_ORDER, NR_FREE_PAGES, PRESENT, SPANNED,
                   WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, ZONE_START_PFN, ZONE_NR_FIELDS)

MAX_CPUS = 64
_current = None


def current():
    """This process's node (NODE_DATA(0)); None before boot."""
    return _current


class pglist_data:
    """The booted model.  Close it (or use ``with``) to unlink the arena."""

    def __init__(self, layout, nr_cpus, page_data, max_locks, extra_sections, slab_sections=()):
        if not 1 <= nr_cpus <= MAX_CPUS:
            raise ConfigError(f"nr_cpus {nr_cpus} must be between 1 and {MAX_CPUS}")
        self.layout = layout
        self.nr_cpus = nr_cpus
        self.nr_pages = n = layout.nr_pages
        self.page_size = layout.page_size
        self.page_shift = layout.page_shift
        self.page_offset = layout.page_offset
        self.lowmem_pages = layout.lowmem_pages
        self.has_page_data = page_data
        sections = [("node_meta", "q", 8)]
        sections += page_mod.arena_sections(n)
        sections += zone_mod.arena_sections()
        sections += pcp_mod.arena_sections(nr_cpus)
        sections += spinlock.arena_sections(max_locks)
        sections += list(extra_sections)
        self.slab_kind = None            # mm_init: the allocator's name
        self.slub_debug = False          # mm_init: every cache gets slub_debug=PZU
        self.slab = None                 # mm_init: slab_common.SlabState
        self.vmalloc = None              # mm_init: vmalloc.VmallocSpace
        sections += list(slab_sections)
        if page_data:
            sections.append(("page_data", "B", n * layout.page_size))
        self.arena = Arena.create(sections, page_size=layout.page_size)
        try:
            self._init(max_locks)
        except BaseException:
            self.arena.close()
            raise

    def _init(self, max_locks):
        a = self.arena
        meta = a.v["node_meta"]
        meta[0], meta[1], meta[2] = self.nr_cpus, self.page_size, self.nr_pages
        self.mem_map = page_mod.mem_map(a, self.nr_pages)
        self.data = a.v["page_data"] if self.has_page_data else None
        self.locks = spinlock.LockPool(a, max_locks)
        spans = self.layout.zone_spans()
        zm = a.np("zone_meta").reshape(MAX_NR_ZONES, ZONE_NR_FIELDS)
        managed = [span for _, span in spans]
        lowmem_managed = sum(m for z, m in enumerate(managed) if z not in (ZONE_HIGHMEM, ZONE_MOVABLE))
        self.min_free_kbytes = calculate_min_free_kbytes(lowmem_managed, self.page_size)
        wmarks = setup_per_zone_wmarks(managed, self.min_free_kbytes, self.page_shift)
        reserve = setup_per_zone_lowmem_reserve(managed)
        for z, (start, span) in enumerate(spans):
            zm[z, ZONE_START_PFN], zm[z, SPANNED], zm[z, PRESENT], zm[z, MANAGED] = start, span, span, span
            zm[z, WMARK_MIN:WMARK_PROMO + 1] = wmarks[z]
            zm[z, LOWMEM_RESERVE:LOWMEM_RESERVE + MAX_NR_ZONES] = reserve[z]
        self.zones = [zone_mod.zone(self, z, spinlock.spin_lock_init(self.locks, f"&zone->lock[{name}]"))
                      for z, name in enumerate(zone_mod.ZONE_NAMES)]
        # zonelists[highest_zoneidx]: that zone and every populated one below.
        self.zonelists = [[self.zones[j] for j in range(i, -1, -1) if managed[j]]
                          for i in range(MAX_NR_ZONES)]
        self.pcp = pcp_mod.PerCpuPagesets(self, [
            (zone_batchsize(m, self.page_size),
             zone_highsize(wmarks[z][1], zone_batchsize(m, self.page_size), self.nr_cpus))
            for z, m in enumerate(managed)])
        self._free_all_pages(spans)
        meta[3] = 1
        self.shrinkers = []
        self.kswapd = None               # callable(zone) the harness may install

    def _free_all_pages(self, spans):
        a = self.arena
        a.np("page_owner")[:] = NO_OWNER
        a.np("page_lru_next")[:] = NIL
        a.np("page_lru_prev")[:] = NIL
        a.np("free_area_head")[:] = NIL
        a.np("free_area_tail")[:] = NIL
        zone_of = a.np("page_zone")
        for z, (start, span) in enumerate(spans):
            zone_of[start:start + span] = z
        mm = self.mem_map
        for z, (start, span) in enumerate(spans):
            zone = self.zones[z]
            pfn, end = start, start + span
            while pfn < end:
                order = MAX_PAGE_ORDER
                while order and (pfn & ((1 << order) - 1) or pfn + (1 << order) > end):
                    order -= 1
                mm.type[pfn] = PGTY_buddy
                mm.order[pfn] = order
                zone_mod.add_to_free_list(zone, mm, pfn, order, tail=True)
                pfn += 1 << order

    # -- addresses -------------------------------------------------------------
    def pfn_to_virt(self, pfn):
        if pfn >= self.lowmem_pages:
            return None
        return self.page_offset + (pfn << self.page_shift)

    def virt_to_pfn(self, addr):
        """The pfn of a kernel address, or None if it is not a direct-map address."""
        if addr is None:
            return None
        off = addr - self.page_offset
        if off < 0 or off >= self.lowmem_pages << self.page_shift:
            return None
        return off >> self.page_shift

    def pfn_to_page(self, pfn):
        return Page(self, pfn)

    def data_offset(self, addr):
        """Byte offset of a direct-map address in page_data."""
        return addr - self.page_offset

    # -- lifetime -----------------------------------------------------------------
    def close(self):
        global _current
        if _current is self:
            _current = None
        if self.slab is not None:
            self.slab.release()
            self.slab = None
        self.arena.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def total_free_pages(self):
        return sum(z.m[NR_FREE_PAGES] for z in self.zones)

    def zone_watermarks(self, z):
        m = self.zones[z].m
        return m[WMARK_MIN], m[WMARK_LOW], m[WMARK_HIGH]


def set_node(pgdat):
    """Make ``pgdat`` this process's node; a CPU id beyond its CPUs becomes CPU 0."""
    global _current
    _current = pgdat
    if context.this_cpu.id >= pgdat.nr_cpus:
        context.set_this_cpu(context.CPU(0))


def set_current(pgdat):
    """Make an already booted node this process's node (tests switch models)."""
    global _current
    _current = pgdat


def page_zone_counts(pgdat):
    """NumPy helper: pages per zone id (for invariants)."""
    return np.bincount(pgdat.arena.np("page_zone"), minlength=MAX_NR_ZONES)
