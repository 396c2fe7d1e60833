"""pg_data_t: the node -- the arena, mem_map, zones, per-CPU pagesets -- and boot.

``boot(layout, nr_cpus, page_data)`` builds the arena, computes watermarks the
way mm_init.c and page_alloc.c do, and frees every page into the buddy lists
in maximal aligned blocks (memblock_free_all -> __free_pages_core).  The node
becomes this process's ``NODE_DATA`` (``pgdat.current()``), so the page API
(``alloc_pages(gfp, order)``) needs no handle, as in the kernel.  Forked CPUs
inherit it.

Sections the node owns beyond page.py, zone.py, pcp.py and spinlock.py::

    node_meta  i64[8]   0 nr_cpus, 1 page_size, 2 nr_pages, 3 booted
    page_data  u8[...]  the bytes of every page (only with page_data=True)

``boot(slab="slub")`` (or ``"slab"`` for the classic SLAB, ``"sheaves"`` for
SLUB with per-CPU sheaves of 7.0) adds the sections of
slab_common.py, slub.py / slab.py / sheaves.py and vmalloc.py, creates the kmalloc caches
and the vmalloc space; it needs page_data=True.  ``slub_debug=True`` (the
default with a slab) gives every cache red zones, poisoning and the
per-object debug data (slub_debug=PZU).
"""

import numpy as np

from . import context, page as page_mod, pcp as pcp_mod, spinlock, zone as zone_mod
from .arena import Arena
from .errors import ConfigError
from .gfp import MAX_NR_ZONES, ZONE_HIGHMEM, ZONE_MOVABLE
from .layout import MemoryLayout
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

    def __init__(self, layout, nr_cpus, page_data, max_locks, extra_sections, slab=None,
                 slub_debug=True):
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
        self.slab_kind = _slab_kind(slab, page_data)
        self.slub_debug = bool(slub_debug) and self.slab_kind is not None
        self.slab = None
        self.vmalloc = None
        if self.slab_kind:
            # ``from .vmalloc import``: the package's ``vmalloc`` and ``kmalloc``
            # names are the functions, not the modules.
            from . import slab_common
            from .vmalloc import arena_sections as vmalloc_sections
            mod = _slab_module(self.slab_kind)
            sections += slab_common.arena_sections(nr_cpus, n, layout.page_size, self.slab_kind,
                                                   self.slub_debug)
            sections += mod.arena_sections(nr_cpus)
            sections += vmalloc_sections(n)
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
        if self.slab_kind:
            self._init_slab()

    def _init_slab(self):
        from . import slab_common
        from .kmalloc import create_kmalloc_caches
        from .vmalloc import VmallocSpace
        mod = _slab_module(self.slab_kind)
        st = slab_common.SlabState(self, mod, self.slub_debug)
        self.slab = st
        st.meta[0] = {"slub": 1, "slab": 2, "sheaves": 3}[self.slab_kind]  # sheaves: registry line
        st.meta[2] = st.rows_per_page
        st.slab_mutex = spinlock.spin_lock_init(self.locks, "slab_mutex")
        st.slab_locks = [spinlock.spin_lock_init(self.locks, f"slab_lock[{i}]")
                         for i in range(16)]
        mod.init(st)
        self.vmalloc = VmallocSpace(self)
        create_kmalloc_caches(st)

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


def _slab_kind(slab, page_data):
    if slab in (None, False, "none"):
        return None
    kind = "slub" if slab is True else slab
    if kind not in ("slub", "slab", "sheaves"):             # sheaves: registry line
        raise ConfigError(f"slab={slab!r}: use 'slub' (the default allocator of Linux 6.12), "
                          "'slab' (the classic three-list SLAB) or 'sheaves' (SLUB with "
                          "per-CPU sheaves, Linux 7.0)")
    if not page_data:
        raise ConfigError(f"slab={kind!r} needs real page data (objects and their free "
                          "pointers live in the pages): boot(..., page_data=True)")
    return kind


def _slab_module(kind):
    if kind == "slub":
        from . import slub as mod
    elif kind == "sheaves":                                 # sheaves: registry line
        from . import sheaves as mod
    else:
        from . import slab as mod
    return mod


def boot(layout=None, nr_cpus=1, page_data=False, max_locks=spinlock.MAX_LOCKS,
         extra_sections=(), slab=None, slub_debug=True, **layout_kw):
    """Boot a model and make it this process's node.

    ``boot(MemoryLayout("x86_32", total="1G"))`` or ``boot(total="64M")``.
    ``slab="slub"`` / ``"slab"`` / ``"sheaves"`` (True means "slub") adds the slab allocator,
    kmalloc and vmalloc; it needs ``page_data=True``.  ``slub_debug=False``
    turns off red zones, poisoning and per-object debug data (benchmarks).
    """
    global _current
    if layout is None:
        layout = MemoryLayout(**layout_kw)
    elif layout_kw:
        raise ConfigError("give either a MemoryLayout or layout keywords, not both")
    pgdat = pglist_data(layout, nr_cpus, page_data, max_locks, extra_sections, slab, slub_debug)
    _current = pgdat
    if context.this_cpu.id >= nr_cpus:
        context.set_this_cpu(context.CPU(0))
    return pgdat


def set_current(pgdat):
    """Make an already booted node this process's node (tests switch models)."""
    global _current
    _current = pgdat


def page_zone_counts(pgdat):
    """NumPy helper: pages per zone id (for invariants)."""
    return np.bincount(pgdat.arena.np("page_zone"), minlength=MAX_NR_ZONES)
