"""The zoned page allocator of mm/page_alloc.c (Linux 6.12).

    __alloc_pages(gfp, order, preferred_nid)
      prepare_alloc_pages: highest_zoneidx = gfp_zone(gfp); might_alloc(gfp);
        the zonelist of the preferred node (numa_node_id() unless the caller
        names one): its fallback list (its own zones from highest_zoneidx
        down, then each other node's in build_zonelists' order), or with
        __GFP_THISNODE its own zones only (ZONELIST_NOFALLBACK)
      get_page_from_freelist(ALLOC_WMARK_LOW)           fast path
        for zone in zonelist:
          zone_watermark_fast -> rmqueue -> rmqueue_pcplist | rmqueue_buddy
          zone_statistics(preferred_zone, zone): numa_hit or numa_miss (and
            numa_foreign on the preferred zone), local_node or other_node
            (with more than one node: the one-node model is a !CONFIG_NUMA
            kernel, which keeps no numastat)
      __alloc_pages_slowpath
        gfp_to_alloc_flags: WMARK_MIN, __GFP_HIGH -> ALLOC_MIN_RESERVE,
          no direct reclaim and no __GFP_NOMEMALLOC -> ALLOC_NON_BLOCK
        wake kswapd; get_page_from_freelist again
        __GFP_MEMALLOC -> ALLOC_NO_WATERMARKS (unless __GFP_NOMEMALLOC)
        may sleep: direct reclaim (shrinkers, drain pcp), retry while progress;
          __GFP_NORETRY gives up after one round, costly orders give up unless
          __GFP_RETRY_MAYFAIL, __GFP_NOFAIL keeps going
        warn_alloc("page allocation failure: order:N") unless __GFP_NOWARN

Free: __free_pages -> put_page_testzero -> free_pages_prepare (bad page
checks) -> free_unref_page (pcp) | __free_pages_ok (buddy).

Debug points (mm/page_alloc.c post_alloc_hook / free_pages_prepare): the
page_free hook runs where the kernel calls kasan_poison_pages and
kernel_poison_pages, the page_alloc hook where it calls kasan_unpoison_pages
and checks the poison -- before the memory is zeroed.  init_on_alloc=1 and
init_on_free=1 (``pgdat.init_on_alloc`` / ``pgdat.init_on_free``, set at boot
from the [debug] section) zero pages on allocation / free, as __GFP_ZERO does.

Not modelled: node_reclaim (node_reclaim_mode is 0 by default, as here),
ALLOC_NOFRAGMENT, mempolicies and nodemasks (interleave_hit stays 0),
migrate types and fragmentation avoidance, compaction, the
OOM killer (a __GFP_NOFAIL allocation that cannot be met after
NOFAIL_RETRIES rounds is reported instead of looping forever), cpusets,
highatomic reserves, watermark boosting.
"""

from . import buddy, context, debug, pcp, reclaim, sched_mm
from .gfp import (__GFP_COMP, __GFP_DIRECT_RECLAIM, __GFP_HIGH, __GFP_KSWAPD_RECLAIM,
                  __GFP_MEMALLOC, __GFP_NOFAIL, __GFP_NOMEMALLOC, __GFP_NORETRY, __GFP_NOWARN,
                  __GFP_RETRY_MAYFAIL, __GFP_THISNODE, __GFP_ZERO, GFP_ZONE_BAD, GFP_ZONEMASK,
                  format_gfp, gfp_zone)
from .page import NO_OWNER, PAGE_FLAGS_CHECK_AT_FREE, PG_head, PGTY_NONE, PGTY_buddy
from .zone import (ALLOCFAIL, LOWMEM_RESERVE, MAX_PAGE_ORDER, NR_FREE_PAGES, NR_PAGE_ORDERS,
                   NUMA_FOREIGN, NUMA_HIT, NUMA_LOCAL, NUMA_MISS, NUMA_OTHER,
                   PAGE_ALLOC_COSTLY_ORDER, PGALLOC, PGFREE, WMARK_MIN)

NUMA_NO_NODE = -1

# mm/internal.h
ALLOC_WMARK_MIN = 0
ALLOC_WMARK_LOW = 1
ALLOC_WMARK_HIGH = 2
ALLOC_NO_WATERMARKS = 0x04
ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1
ALLOC_OOM = 0x08
ALLOC_NON_BLOCK = 0x10
ALLOC_MIN_RESERVE = 0x20                 # == __GFP_HIGH
ALLOC_CPUSET = 0x40
ALLOC_HIGHATOMIC = 0x200
ALLOC_KSWAPD = 0x800                     # == __GFP_KSWAPD_RECLAIM
ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM

MAX_RECLAIM_RETRIES = 16
NOFAIL_RETRIES = 1000


def gfp_to_alloc_flags(gfp, order):
    alloc_flags = ALLOC_WMARK_MIN | ALLOC_CPUSET
    alloc_flags |= gfp & (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
    if not gfp & __GFP_DIRECT_RECLAIM:
        if not gfp & __GFP_NOMEMALLOC:
            alloc_flags |= ALLOC_NON_BLOCK
            if order > 0:
                alloc_flags |= ALLOC_HIGHATOMIC
        if alloc_flags & ALLOC_MIN_RESERVE:
            alloc_flags &= ~ALLOC_CPUSET
    return alloc_flags


def __gfp_pfmemalloc_flags(gfp):
    if gfp & __GFP_NOMEMALLOC:
        return 0
    if gfp & __GFP_MEMALLOC:
        return ALLOC_NO_WATERMARKS
    if not context.in_interrupt() and reclaim.current_is_reclaiming():
        return ALLOC_NO_WATERMARKS       # PF_MEMALLOC
    return 0


def __zone_watermark_ok(zone, order, mark, highest_zoneidx, alloc_flags, free_pages):
    wmin = mark
    if alloc_flags & ALLOC_RESERVES:
        if alloc_flags & ALLOC_MIN_RESERVE:
            wmin -= wmin // 2
            if alloc_flags & ALLOC_NON_BLOCK:
                wmin -= wmin // 4
        if alloc_flags & ALLOC_OOM:
            wmin -= wmin // 2
    if free_pages <= wmin + zone.m[LOWMEM_RESERVE + highest_zoneidx]:
        return False
    if not order:
        return True
    nr = zone.fa_nr
    for o in range(order, NR_PAGE_ORDERS):
        if nr[o]:
            return True
    return False


def zone_watermark_ok(zone, order, mark, highest_zoneidx, alloc_flags):
    return __zone_watermark_ok(zone, order, mark, highest_zoneidx, alloc_flags,
                               zone.m[NR_FREE_PAGES])


def zone_watermark_fast(zone, order, mark, highest_zoneidx, alloc_flags):
    free_pages = zone.m[NR_FREE_PAGES]
    if not order and free_pages > mark + zone.m[LOWMEM_RESERVE + highest_zoneidx]:
        return True
    return __zone_watermark_ok(zone, order, mark, highest_zoneidx, alloc_flags, free_pages)


def rmqueue(pgdat, zone, order):
    if order <= PAGE_ALLOC_COSTLY_ORDER:
        pfn = pcp.rmqueue_pcplist(pgdat, zone, order)
        if pfn is not None:
            return pfn
    return buddy.rmqueue_buddy(zone, pgdat.mem_map, order)


def prep_new_page(pgdat, pfn, order, gfp):
    mm = pgdat.mem_map
    mm.ref[pfn] = 1
    mm.order[pfn] = order
    mm.owner[pfn] = context.this_cpu.id
    mm.private[pfn] = 0
    mm.flags[pfn] = PG_head if order and gfp & __GFP_COMP else 0
    debug.hooks.page_alloc(pfn, order, gfp)          # kasan_unpoison_pages, poison check
    if (gfp & __GFP_ZERO or getattr(pgdat, "init_on_alloc", False)) and pgdat.data is not None:
        start = pfn << pgdat.page_shift
        size = pgdat.page_size << order
        pgdat.data[start:start + size] = bytes(size)


def zone_statistics(preferred_zone, z, nid):
    """mm/page_alloc.c zone_statistics (nr_account 1: one event per allocation)."""
    local_stat = NUMA_LOCAL if z.nid == nid else NUMA_OTHER
    if z.nid == preferred_zone.nid:
        z.m[NUMA_HIT] += 1
    else:
        z.m[NUMA_MISS] += 1
        preferred_zone.m[NUMA_FOREIGN] += 1
    z.m[local_stat] += 1


def node_zonelist(pgdat, nid, gfp, highest_zoneidx):
    """node_zonelist(nid, gfp) cut to highest_zoneidx: the zones to try, in order."""
    which = 1 if gfp & __GFP_THISNODE else 0          # ZONELIST_NOFALLBACK / _FALLBACK
    return pgdat.node_data[nid].node_zonelists[which][highest_zoneidx]


def get_page_from_freelist(pgdat, gfp, order, alloc_flags, highest_zoneidx, zonelist=None):
    """Walk the zonelist; returns a pfn (the page is prepared) or None."""
    if zonelist is None:
        zonelist = pgdat.zonelists[highest_zoneidx]
    for zone in zonelist:
        mark = zone.m[WMARK_MIN + (alloc_flags & ALLOC_WMARK_MASK)]
        if not zone_watermark_fast(zone, order, mark, highest_zoneidx, alloc_flags):
            if not alloc_flags & ALLOC_NO_WATERMARKS:
                continue
        pfn = rmqueue(pgdat, zone, order)
        if pfn is not None:
            zone.m[PGALLOC] += 1 << order
            if pgdat.nr_nodes > 1:                    # CONFIG_NUMA's counters
                zone_statistics(zonelist[0], zone, pgdat.numa_node_id())
            prep_new_page(pgdat, pfn, order, gfp)
            return pfn
    return None


def warn_alloc(pgdat, gfp, order, highest_zoneidx, zonelist=None):
    if zonelist is None:
        zonelist = pgdat.zonelists[highest_zoneidx]
    zone = zonelist[0] if zonelist else None
    if zone is not None:
        zone.m[ALLOCFAIL] += 1
    if gfp & __GFP_NOWARN:
        return
    cpu = context.this_cpu
    text = (f"{cpu.comm}: page allocation failure: order:{order}, "
            f"mode:{gfp:#x}({format_gfp(gfp)}), nodemask=(null)")
    debug.hooks.alloc_failed(gfp, order, text)
    debug.printk(text)


def __alloc_pages_slowpath(pgdat, gfp, order, highest_zoneidx, zonelist):
    can_direct_reclaim = bool(gfp & __GFP_DIRECT_RECLAIM)
    costly_order = order > PAGE_ALLOC_COSTLY_ORDER
    alloc_flags = gfp_to_alloc_flags(gfp, order)
    if gfp & __GFP_NOFAIL:
        if not can_direct_reclaim:
            debug.hooks.report("nofail-atomic", "WARNING: __GFP_NOFAIL without __GFP_DIRECT_RECLAIM "
                               f"({format_gfp(gfp)}): the allocator cannot guarantee it")
        if costly_order:
            debug.hooks.report("nofail-costly", f"WARNING: __GFP_NOFAIL at costly order {order}")
    if alloc_flags & ALLOC_KSWAPD:
        for zone in zonelist:
            reclaim.wakeup_kswapd(pgdat, zone)
    pfn = get_page_from_freelist(pgdat, gfp, order, alloc_flags, highest_zoneidx, zonelist)
    if pfn is not None:
        return pfn
    reserve_flags = __gfp_pfmemalloc_flags(gfp)
    if reserve_flags:
        alloc_flags = reserve_flags | (alloc_flags & ALLOC_KSWAPD)
    no_progress_loops = 0
    rounds = 0
    while True:
        rounds += 1
        if reserve_flags or rounds > 1:
            pfn = get_page_from_freelist(pgdat, gfp, order, alloc_flags, highest_zoneidx, zonelist)
            if pfn is not None:
                return pfn
        if not can_direct_reclaim or reclaim.current_is_reclaiming():
            break
        debug.hooks.yield_point("reclaim")
        progress = reclaim.try_to_free_pages(pgdat, gfp, order)
        pfn = get_page_from_freelist(pgdat, gfp, order, alloc_flags, highest_zoneidx, zonelist)
        if pfn is not None:
            return pfn
        if gfp & __GFP_NORETRY:
            break
        if costly_order and not gfp & (__GFP_RETRY_MAYFAIL | __GFP_NOFAIL):
            break
        no_progress_loops = 0 if progress else no_progress_loops + 1
        if no_progress_loops <= MAX_RECLAIM_RETRIES and not gfp & __GFP_NOFAIL:
            if progress or no_progress_loops < 2:
                continue
            break
        if gfp & __GFP_NOFAIL:
            if rounds < NOFAIL_RETRIES:
                continue
            debug.hooks.report("nofail-oom", f"BUG: __GFP_NOFAIL order:{order} allocation could not "
                               f"be met after {rounds} reclaim rounds (the kernel would now run the "
                               "OOM killer, which the model does not have)")
        break
    warn_alloc(pgdat, gfp, order, highest_zoneidx, zonelist)
    return None


def __alloc_pages(pgdat, gfp, order, preferred_nid=NUMA_NO_NODE):
    """Allocate 2**order pages; returns the head pfn or None (NULL).

    ``preferred_nid``: the node to allocate on first (alloc_pages_node);
    NUMA_NO_NODE means this CPU's node (numa_node_id()).  The caller checks
    that a named node exists."""
    hooks = debug.hooks
    if order > MAX_PAGE_ORDER:
        hooks.report("order", f"WARNING: __alloc_pages order {order} > MAX_PAGE_ORDER {MAX_PAGE_ORDER}")
        return None
    if sched_mm.current_flags:
        gfp = sched_mm.current_gfp_context(gfp)      # memalloc_nofs/noio scopes
    lay = pgdat.layout
    if (gfp & GFP_ZONEMASK) in GFP_ZONE_BAD and hooks.gfp_zone_bad(gfp):
        return None                                   # reported (the kernel: VM_BUG_ON)
    highest_zoneidx = gfp_zone(gfp, lay.has_highmem, lay.has_dma32)
    if pgdat.nr_nodes == 1:
        zonelist = pgdat.zonelists[highest_zoneidx]       # one node: one list, no fallback
    else:
        if preferred_nid == NUMA_NO_NODE:
            preferred_nid = pgdat.numa_node_id()
        zonelist = node_zonelist(pgdat, preferred_nid, gfp, highest_zoneidx)
    if gfp & __GFP_DIRECT_RECLAIM:
        hooks.might_sleep("mm/page_alloc.c:__alloc_pages", gfp)
    hooks.yield_point("alloc")
    if hooks.should_fail_alloc_page(gfp, order):
        warn_alloc(pgdat, gfp, order, highest_zoneidx, zonelist)
        return None
    pfn = get_page_from_freelist(pgdat, gfp, order, ALLOC_WMARK_LOW, highest_zoneidx, zonelist)
    if pfn is None:
        pfn = __alloc_pages_slowpath(pgdat, gfp, order, highest_zoneidx, zonelist)
    hooks.yield_point("alloc_done")
    return pfn


def free_pages_prepare(pgdat, pfn, order):
    """Bad-page checks; returns False (and leaks the page) if it is bad."""
    mm = pgdat.mem_map
    reason = None
    if mm.mapping[pfn]:
        reason = "non-NULL mapping"
    elif mm.type[pfn] != PGTY_NONE:
        reason = "nonzero mapcount" if mm.type[pfn] != PGTY_buddy else "page is free (PageBuddy)"
    elif mm.flags[pfn] & PAGE_FLAGS_CHECK_AT_FREE:
        reason = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"
    if reason:
        debug.hooks.bad_page(pfn, reason)
        return False
    if getattr(pgdat, "init_on_free", False) and pgdat.data is not None:
        start = pfn << pgdat.page_shift
        size = pgdat.page_size << order
        pgdat.data[start:start + size] = bytes(size)
    if debug.hooks.page_free(pfn, order):             # kasan_poison_pages, page poisoning;
        return False                                  # True: a checker found it bad (leak it)
    mm.flags[pfn] = 0
    mm.owner[pfn] = NO_OWNER
    mm.order[pfn] = 0
    mm.private[pfn] = 0
    return True


def __free_pages(pgdat, pfn, order):
    """put_page_testzero + free_the_page."""
    mm = pgdat.mem_map
    ref = mm.ref[pfn]
    if ref <= 0:
        debug.hooks.bad_page(pfn, "put_page on a page with _refcount 0 (double free?)")
        return
    mm.ref[pfn] = ref - 1
    if ref != 1:
        return
    if not free_pages_prepare(pgdat, pfn, order):
        mm.ref[pfn] = 1             # leaked as the kernel leaks a bad page: still allocated,
        return                      # never on a free list (the accounting stays whole)
    zone = pgdat.zones[mm.zone[pfn]]
    zone.m[PGFREE] += 1 << order
    debug.hooks.yield_point("free")
    if order <= PAGE_ALLOC_COSTLY_ORDER:
        pcp.free_unref_page(pgdat, zone, pfn, order)
    else:
        buddy.free_one_page(zone, mm, pfn, order)
