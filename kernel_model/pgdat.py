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

NUMA: one arena holds every node.  ``numa`` (numa.NumaTopology) says which
page frames and CPUs each node has; ``node_data[nid]`` (NODE_DATA(nid)) is a
``node`` with the kernel pglist_data's per-node fields (node_id,
node_start_pfn, node_spanned_pages, node_zones, node_zonelists).  A node's
zones are the architecture's zone spans cut to the node's page frames, so on
x86_64 node 0 has DMA, DMA32 and Normal and a node above 4 GiB only Normal.
``pgdat.zones`` lists every node's zones (node-major, as for_each_zone walks
them), so with one node it is node 0's zones, indexed by zone type.
"""

import numpy as np

from . import context, page as page_mod, pcp as pcp_mod, spinlock, zone as zone_mod
from .arena import Arena
from .errors import ConfigError
from .gfp import MAX_NR_ZONES, ZONE_HIGHMEM, ZONE_MOVABLE
from .numa import NumaTopology
from .page import NIL, NO_OWNER, PGTY_buddy, Page
from .watermarks import (calculate_min_free_kbytes, setup_node_wmarks,
                         setup_per_zone_lowmem_reserve, zone_batchsize, zone_highsize)
from .zone import (LOWMEM_RESERVE, MANAGED, MAX_PAGE_ORDER, NR_FREE_PAGES, PRESENT, SPANNED,
                   WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, ZONE_START_PFN, ZONE_NR_FIELDS)

MAX_CPUS = 64
ZONELIST_FALLBACK = 0                  # node_zonelists[]: every node, in node order
ZONELIST_NOFALLBACK = 1                # this node only (__GFP_THISNODE)
_current = None


def current():
    """This process's node (NODE_DATA(0)); None before boot."""
    return _current


class node:
    """NODE_DATA(nid): one node's part of the kernel's struct pglist_data."""

    def __init__(self, nid, start_pfn, spanned, zones, cpus):
        self.node_id = nid
        self.node_start_pfn = start_pfn
        self.node_spanned_pages = spanned
        self.node_zones = zones              # indexed by zone type
        self.cpus = cpus                     # cpumask_of_node
        self.node_order = [nid]              # build_zonelists: fallback node order
        # node_zonelists[ZONELIST_*][highest_zoneidx]: the zones an allocation may use,
        # in order (the kernel walks one list and skips zones above highest_zoneidx)
        self.node_zonelists = [[], []]

    def __repr__(self):
        return f"<node {self.node_id}>"

    def build_zonelists(self, node_data, node_order):
        """build_zonelists_in_node_order + build_thisnode_zonelists."""
        self.node_order = list(node_order)

        def zonelist(nodes, highest):
            return [node_data[n].node_zones[z] for n in nodes for z in range(highest, -1, -1)
                    if node_data[n].node_zones[z].populated()]
        self.node_zonelists = [[zonelist(self.node_order, h) for h in range(MAX_NR_ZONES)],
                               [zonelist([self.node_id], h) for h in range(MAX_NR_ZONES)]]

    def free_pages(self):
        return sum(z.free_pages() for z in self.node_zones)


class pglist_data:
    """The booted model.  Close it (or use ``with``) to unlink the arena."""

    def __init__(self, layout, nr_cpus, page_data, max_locks, extra_sections, slab_sections=(),
                 numa=None):
        if not 1 <= nr_cpus <= MAX_CPUS:
            raise ConfigError(f"nr_cpus {nr_cpus} must be between 1 and {MAX_CPUS}")
        if numa is None:
            numa = NumaTopology(layout.nr_pages, layout.page_size, nr_cpus)
        self.numa = numa
        self.nr_nodes = numa.nr_nodes
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
        sections += zone_mod.arena_sections(self.nr_nodes)
        sections += pcp_mod.arena_sections(nr_cpus, self.nr_nodes)
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
        spans = self.node_zone_spans()           # [nid][zone] (start, span)
        zm = a.np("zone_meta").reshape(self.nr_nodes * MAX_NR_ZONES, ZONE_NR_FIELDS)
        managed = [[span for _, span in node_spans] for node_spans in spans]
        lowmem_managed = sum(m for node_managed in managed for z, m in enumerate(node_managed)
                             if z not in (ZONE_HIGHMEM, ZONE_MOVABLE))
        self.min_free_kbytes = calculate_min_free_kbytes(lowmem_managed, self.page_size)
        wmarks = setup_node_wmarks(managed, self.min_free_kbytes, self.page_shift)
        self.zones = []
        self.node_data = []
        for nid, node_spans in enumerate(spans):
            reserve = setup_per_zone_lowmem_reserve(managed[nid])
            zones = []
            for z, (start, span) in enumerate(node_spans):
                row = nid * MAX_NR_ZONES + z
                zm[row, ZONE_START_PFN], zm[row, SPANNED], zm[row, PRESENT], zm[row, MANAGED] = \
                    start, span, span, span
                zm[row, WMARK_MIN:WMARK_PROMO + 1] = wmarks[nid][z]
                zm[row, LOWMEM_RESERVE:LOWMEM_RESERVE + MAX_NR_ZONES] = reserve[z]
                where = f"{nid}/{zone_mod.ZONE_NAMES[z]}" if nid else zone_mod.ZONE_NAMES[z]
                zones.append(zone_mod.zone(self, z, spinlock.spin_lock_init(
                    self.locks, f"&zone->lock[{where}]"), nid))
            self.zones += zones
            first, size = self.numa.node_spans[nid]
            self.node_data.append(node(nid, first, size, zones, self.numa.cpumask_of_node(nid)))
        for nd, order in zip(self.node_data, self.numa.node_orders()):
            nd.build_zonelists(self.node_data, order)
        # node 0's fallback zonelists (the UMA model's one list per highest_zoneidx)
        self.zonelists = self.node_data[0].node_zonelists[ZONELIST_FALLBACK]
        sizes = []
        for nd in self.node_data:
            split = len(nd.cpus) or self.nr_cpus
            for z, m in enumerate(managed[nd.node_id]):
                batch = zone_batchsize(m, self.page_size)
                sizes.append((batch, zone_highsize(wmarks[nd.node_id][z][1], batch, split)))
        self.pcp = pcp_mod.PerCpuPagesets(self, sizes)
        self._free_all_pages(spans)
        meta[3] = 1
        self.shrinkers = []
        self.kswapd = None               # callable(zone) the harness may install

    def node_zone_spans(self):
        """[nid][zone] -> (zone_start_pfn, spanned_pages): the zone spans cut to each node."""
        out = []
        for first, size in self.numa.node_spans:
            last = first + size
            row = []
            for start, span in self.layout.zone_spans():
                lo, hi = max(start, first), min(start + span, last)
                row.append((lo, hi - lo) if span and hi > lo else (0, 0))
            out.append(row)
        return out

    def _free_all_pages(self, spans):
        a = self.arena
        a.np("page_owner")[:] = NO_OWNER
        a.np("page_lru_next")[:] = NIL
        a.np("page_lru_prev")[:] = NIL
        a.np("free_area_head")[:] = NIL
        a.np("free_area_tail")[:] = NIL
        zone_of = a.np("page_zone")
        flat = [(nid * MAX_NR_ZONES + z, span) for nid, node_spans in enumerate(spans)
                for z, span in enumerate(node_spans)]
        for zid, (start, span) in flat:
            zone_of[start:start + span] = zid
        mm = self.mem_map
        for zid, (start, span) in flat:
            zone = self.zones[zid]
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

    def page_zone(self, pfn):
        return self.zones[self.mem_map.zone[pfn]]

    def page_to_nid(self, pfn):
        return self.zones[self.mem_map.zone[pfn]].nid

    def cpu_to_node(self, cpu):
        return self.numa.cpu_to_node[cpu]

    def numa_node_id(self):
        """The node of the CPU this code runs on."""
        return self.numa.cpu_to_node[context.this_cpu.id]

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
    return np.bincount(pgdat.arena.np("page_zone"), minlength=len(pgdat.zones))
