"""Per-CPU page lists (struct per_cpu_pages), as in Linux 6.12.

Order-0..3 pages are allocated from and freed to a per-CPU, per-zone list so
that the common case does not take zone->lock.  An empty list is refilled with
``batch`` blocks by rmqueue_bulk() under zone->lock; a list whose count
reaches ``high`` gives ``batch`` blocks back by free_pcppages_bulk().

Protection is 6.12's: ``pcp->lock`` is a per-CPU spinlock taken with
*trylock* (pcp_spin_trylock).  An interrupt that arrives while its CPU holds
the lock fails the trylock and falls back to the buddy lists under
zone->lock, so irqs need not be disabled; a remote CPU draining the lists
(drain_all_pages from direct reclaim) takes the same lock.  Kernels before
5.19 used local_irq_save() instead.  Migrate types are not modelled: one list
per order.

Arena sections (c = cpu, z = zone id over every node's zones (zone.id),
o = order < NR_PCP_ORDERS; Z = nr_nodes * MAX_NR_ZONES)::

    pcp_head, pcp_tail  u32[nr_cpus * Z * NR_PCP_ORDERS]   list ends
    pcp_count           i64[nr_cpus * Z]   pages on the lists
    pcp_high, pcp_batch i64[nr_cpus * Z]

Every CPU has a pageset for every zone of every node (a remote node's
pages freed on this CPU go to its pageset for that node's zone).
"""

from . import buddy, context, debug, planted, spinlock
from .gfp import MAX_NR_ZONES
from .list import list_add, list_add_tail, list_del
from .page import NIL
from .zone import PAGE_ALLOC_COSTLY_ORDER, PCP_DRAIN, PCP_REFILL

NR_PCP_ORDERS = PAGE_ALLOC_COSTLY_ORDER + 1


def arena_sections(nr_cpus, nr_nodes=1):
    n = nr_cpus * nr_nodes * MAX_NR_ZONES
    return [("pcp_head", "I", n * NR_PCP_ORDERS), ("pcp_tail", "I", n * NR_PCP_ORDERS),
            ("pcp_count", "q", n), ("pcp_high", "q", n), ("pcp_batch", "q", n)]


class per_cpu_pages:
    """One CPU's pageset for one zone: views of its rows in the arena."""

    __slots__ = ("cpu", "zone", "lock", "head", "tail", "row", "count_v", "high", "batch", "what")

    def __init__(self, arena, cpu, zone, lock, high, batch, nr_zones=MAX_NR_ZONES):
        row = cpu * nr_zones + zone.id
        lo = row * NR_PCP_ORDERS
        self.cpu = cpu
        self.what = f"pcp:{zone.nid}/{zone.name}" if zone.nid else f"pcp:{zone.name}"
        self.zone = zone
        self.lock = lock
        self.head = arena.view("pcp_head", lo, lo + NR_PCP_ORDERS)
        self.tail = arena.view("pcp_tail", lo, lo + NR_PCP_ORDERS)
        for o in range(NR_PCP_ORDERS):
            self.head[o] = NIL
            self.tail[o] = NIL
        self.row = row
        self.count_v = arena.v["pcp_count"]
        arena.v["pcp_high"][row] = high
        arena.v["pcp_batch"][row] = batch
        self.high = high
        self.batch = batch

    @property
    def count(self):
        return self.count_v[self.row]


class PerCpuPagesets:
    """zone->per_cpu_pageset for every CPU: ``psets[cpu][zone.id]`` (sizes by zone.id)."""

    def __init__(self, pgdat, sizes):
        self.psets = []
        nr_zones = len(pgdat.zones)
        for cpu in range(pgdat.nr_cpus):
            row = []
            for z in pgdat.zones:
                batch, high = sizes[z.id]
                where = f"{z.nid}/{z.name}" if z.nid else z.name
                lock = (spinlock.spin_lock_init(pgdat.locks, f"&pcp->lock[{cpu}/{where}]")
                        if z.populated() else None)
                row.append(per_cpu_pages(pgdat.arena, cpu, z, lock, high, batch, nr_zones))
            self.psets.append(row)


def rmqueue_bulk(zone, mm, order, count, pcp):
    """Move up to ``count`` blocks from the buddy lists to the pcp list."""
    flags = spinlock.spin_lock_irqsave(zone.lock)
    try:
        got = 0
        for _ in range(count):
            pfn = buddy.__rmqueue_smallest(zone, mm, order)
            if pfn is None:
                break
            # list_add_tail, as the kernel does: the bulk stays in pfn order.
            list_add_tail(mm.next, mm.prev, pcp.head, pcp.tail, order, pfn)
            got += 1
        zone.m[PCP_REFILL] += 1
        return got
    finally:
        spinlock.spin_unlock_irqrestore(zone.lock, flags)


def free_pcppages_bulk(zone, mm, count, pcp, order):
    """Give ``count`` blocks from the cold end of the pcp list back to the buddy."""
    if planted.no_zone_lock_in_free:
        return _free_pcppages_bulk(zone, mm, count, pcp, order)
    flags = spinlock.spin_lock_irqsave(zone.lock)
    try:
        return _free_pcppages_bulk(zone, mm, count, pcp, order)
    finally:
        spinlock.spin_unlock_irqrestore(zone.lock, flags)


def _free_pcppages_bulk(zone, mm, count, pcp, order):
    freed = 0
    while freed < count:
        pfn = pcp.tail[order]
        if pfn == NIL:
            break
        list_del(mm.next, mm.prev, pcp.head, pcp.tail, order, pfn)
        pcp.count_v[pcp.row] -= 1 << order
        buddy.__free_one_page(zone, mm, pfn, order)
        freed += 1
    zone.m[PCP_DRAIN] += 1
    return freed


def rmqueue_pcplist(pgdat, zone, order):
    """Allocate one block of ``order`` from this CPU's list; None to fall back."""
    cpu = context.this_cpu.id
    pcp = pgdat.pcp.psets[cpu][zone.id]
    if not spinlock.spin_trylock(pcp.lock):
        return None
    hooks = debug.hooks
    hooks.percpu_enter(pcp.what, cpu, "lock")
    try:
        mm = pgdat.mem_map
        pfn = pcp.head[order]
        if pfn == NIL:
            batch = max(pcp.batch >> order, 2)
            got = rmqueue_bulk(zone, mm, order, batch, pcp)
            if not got:
                return None
            pcp.count_v[pcp.row] += got << order
            pfn = pcp.head[order]
        list_del(mm.next, mm.prev, pcp.head, pcp.tail, order, pfn)
        pcp.count_v[pcp.row] -= 1 << order
        return pfn
    finally:
        hooks.percpu_exit(pcp.what, cpu)
        spinlock.spin_unlock(pcp.lock)


def free_unref_page(pgdat, zone, pfn, order):
    """Free to this CPU's list; falls back to the buddy if the lock is busy."""
    cpu = context.this_cpu.id
    pcp = pgdat.pcp.psets[cpu][zone.id]
    mm = pgdat.mem_map
    if not spinlock.spin_trylock(pcp.lock):
        buddy.free_one_page(zone, mm, pfn, order)
        return
    hooks = debug.hooks
    hooks.percpu_enter(pcp.what, cpu, "lock")
    try:
        list_add(mm.next, mm.prev, pcp.head, pcp.tail, order, pfn)
        pcp.count_v[pcp.row] += 1 << order
        if pcp.count_v[pcp.row] >= pcp.high:
            free_pcppages_bulk(zone, mm, max(pcp.batch >> order, 1), pcp, order)
    finally:
        hooks.percpu_exit(pcp.what, cpu)
        spinlock.spin_unlock(pcp.lock)


def drain_pages_zone(pgdat, cpu, zone):
    """Empty one CPU's lists for a zone (any CPU may do this: it takes pcp->lock)."""
    pcp = pgdat.pcp.psets[cpu][zone.id]
    if pcp.lock is None:
        return 0
    spinlock.spin_lock(pcp.lock)
    debug.hooks.percpu_enter(pcp.what, cpu, "remote" if cpu != context.this_cpu.id else "lock")
    try:
        freed = 0
        for order in range(NR_PCP_ORDERS):
            # "all of them": no sound list holds more blocks than the node has pages, so a
            # list a race made circular ends the walk (the invariants report it) not a hang
            most = (pgdat.nr_pages >> order) + 1
            freed += free_pcppages_bulk(zone, pgdat.mem_map, most, pcp, order) << order
        return freed
    finally:
        debug.hooks.percpu_exit(pcp.what, cpu)
        spinlock.spin_unlock(pcp.lock)


def drain_all_pages(pgdat):
    """drain_all_pages(NULL): every CPU's lists back to the buddy."""
    return sum(drain_pages_zone(pgdat, cpu, z) for cpu in range(pgdat.nr_cpus)
               for z in pgdat.zones if z.populated())
