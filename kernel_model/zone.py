"""struct zone and its free_area[], in the arena.

Arena sections (z = zone id = node * MAX_NR_ZONES + zone index, o = order)::

    zone_meta     i64[nr_nodes * MAX_NR_ZONES * ZONE_NR_FIELDS]   fields below, row z
    free_area_head u32[nr_nodes * MAX_NR_ZONES * NR_PAGE_ORDERS]  free_area[o].free_list
    free_area_tail u32[...]                            (head, tail pfns)
    free_area_nr   i64[...]                            free_area[o].nr_free

zone_meta fields: zone_start_pfn, spanned_pages, present_pages,
managed_pages, NR_FREE_PAGES (pages in the buddy lists; pages on pcp lists are
not free, as in vmstat), _watermark[min, low, high, promo],
lowmem_reserve[MAX_NR_ZONES], then event counters (pgalloc, pgfree,
allocfail, reclaim, kswapd_wake, pcp_refill, pcp_drain), then the NUMA
event counters of zone_statistics (numa_hit, numa_miss, numa_foreign,
numa_interleave, numa_local, numa_other: enum numa_stat_item).

``zone.idx`` is the zone type (ZONE_NORMAL, ...: zone_idx()), ``zone.nid``
its node (zone_to_nid()), ``zone.id`` its row in the arena and in mem_map's
page_zone byte.

Lock order: zone->lock is innermost of the page allocator; it is taken with
spin_lock_irqsave because interrupts allocate pages too.
"""

from . import debug
from .gfp import MAX_NR_ZONES, ZONE_NAMES
from .list import list_add, list_add_tail, list_del

MAX_PAGE_ORDER = 10
NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1
PAGE_ALLOC_COSTLY_ORDER = 3

(ZONE_START_PFN, SPANNED, PRESENT, MANAGED, NR_FREE_PAGES,
 WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO) = range(9)
LOWMEM_RESERVE = 9                       # .. 9 + MAX_NR_ZONES
(PGALLOC, PGFREE, ALLOCFAIL, RECLAIM, KSWAPD_WAKE,
 PCP_REFILL, PCP_DRAIN) = range(LOWMEM_RESERVE + MAX_NR_ZONES, LOWMEM_RESERVE + MAX_NR_ZONES + 7)
(NUMA_HIT, NUMA_MISS, NUMA_FOREIGN, NUMA_INTERLEAVE_HIT, NUMA_LOCAL,
 NUMA_OTHER) = range(PCP_DRAIN + 1, PCP_DRAIN + 7)
ZONE_NR_FIELDS = NUMA_OTHER + 1
COUNTER_NAMES = ("pgalloc", "pgfree", "allocfail", "reclaim", "kswapd_wake", "pcp_refill", "pcp_drain")
# /sys/devices/system/node/nodeN/numastat, in node_read_numastat's order
NUMASTAT_NAMES = ("numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node")
NUMASTAT_FIELDS = (NUMA_HIT, NUMA_MISS, NUMA_FOREIGN, NUMA_INTERLEAVE_HIT, NUMA_LOCAL, NUMA_OTHER)


def arena_sections(nr_nodes=1):
    n = nr_nodes * MAX_NR_ZONES * NR_PAGE_ORDERS
    return [("zone_meta", "q", nr_nodes * MAX_NR_ZONES * ZONE_NR_FIELDS), ("free_area_head", "I", n),
            ("free_area_tail", "I", n), ("free_area_nr", "q", n)]


class zone:
    """One zone: constant identity here, mutable state in the arena."""

    def __init__(self, pgdat, idx, lock, nid=0):
        a = pgdat.arena
        self.pgdat = pgdat
        self.idx = idx
        self.nid = nid
        self.id = zid = nid * MAX_NR_ZONES + idx
        self.name = ZONE_NAMES[idx]
        self.lock = lock
        self.m = a.view("zone_meta", zid * ZONE_NR_FIELDS, (zid + 1) * ZONE_NR_FIELDS)
        lo, hi = zid * NR_PAGE_ORDERS, (zid + 1) * NR_PAGE_ORDERS
        self.fa_head = a.view("free_area_head", lo, hi)
        self.fa_tail = a.view("free_area_tail", lo, hi)
        self.fa_nr = a.view("free_area_nr", lo, hi)
        self.zone_start_pfn = self.m[ZONE_START_PFN]
        self.spanned_pages = self.m[SPANNED]
        self.zone_end_pfn = self.zone_start_pfn + self.spanned_pages

    def __repr__(self):
        return f"<zone {self.name}>" if not self.nid else f"<zone {self.nid}/{self.name}>"

    def populated(self):
        return self.m[PRESENT] > 0

    def managed_pages(self):
        return self.m[MANAGED]

    def free_pages(self):
        return self.m[NR_FREE_PAGES]

    def wmark(self, which):
        return self.m[which]

    def lowmem_reserve(self, highest_zoneidx):
        return self.m[LOWMEM_RESERVE + highest_zoneidx]

    def counter(self, field):
        return self.m[field]

    def contains(self, pfn):
        return self.zone_start_pfn <= pfn < self.zone_end_pfn


def lockless_access(zone):
    """A scheduling point where zone data is touched while nobody holds zone->lock
    (a planted bug's path): a race there is between two accesses.  Under the lock
    nothing else can touch the data, so no point is needed (nor wanted: a run
    stopped there would leave the lock held)."""
    lock = zone.lock
    if not lock.owner[lock.id]:
        debug.hooks.yield_point("access")


def add_to_free_list(zone, mm, pfn, order, tail=False):
    """__add_to_free_list + account_freepages.  Caller holds zone->lock."""
    (list_add_tail if tail else list_add)(mm.next, mm.prev, zone.fa_head, zone.fa_tail, order, pfn)
    nr = zone.fa_nr[order]
    lockless_access(zone)                  # nr_free: read, then written (zone->lock makes it one step)
    zone.fa_nr[order] = nr + 1
    zone.m[NR_FREE_PAGES] += 1 << order


def del_page_from_free_list(zone, mm, pfn, order):
    list_del(mm.next, mm.prev, zone.fa_head, zone.fa_tail, order, pfn)
    nr = zone.fa_nr[order]
    lockless_access(zone)
    zone.fa_nr[order] = nr - 1
    zone.m[NR_FREE_PAGES] -= 1 << order
