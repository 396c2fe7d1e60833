"""Reclaim: shrinkers, direct reclaim and the kswapd wake-up.

The model has no page cache to evict, so reclaim is what the kernel's
shrinkers and pcp draining give back: every registered shrinker is asked to
free objects (a workload's cache frees what it holds), then every CPU's pcp
lists are drained (drain_all_pages).  Progress is the number of pages that
became free.  A shrinker is a callable ``shrinker(nr_to_scan) -> freed``,
registered per process (each CPU registers its own workload's shrinkers).

kswapd is not a thread here: waking it counts an event in the zone and calls
``pgdat.kswapd(zone)`` if the harness installed one.
"""

from . import debug, pcp, sched_mm
from .zone import KSWAPD_WAKE, NR_FREE_PAGES, RECLAIM, WMARK_LOW

SHRINK_BATCH = 128
_in_reclaim = False          # PF_MEMALLOC of the task doing direct reclaim


def register_shrinker(pgdat, shrinker):
    pgdat.shrinkers.append(shrinker)


def unregister_shrinker(pgdat, shrinker):
    if shrinker in pgdat.shrinkers:
        pgdat.shrinkers.remove(shrinker)


def current_is_reclaiming():
    return _in_reclaim


def try_to_free_pages(pgdat, gfp, order):
    """Direct reclaim; returns pages freed (the kernel's "progress")."""
    global _in_reclaim
    if _in_reclaim:
        return 0
    zone_of_interest = pgdat.zones
    before = sum(z.m[NR_FREE_PAGES] for z in zone_of_interest)
    _in_reclaim = True
    sched_mm.fs_reclaim_acquire(gfp)          # __perform_reclaim: lockdep's fs_reclaim
    noreclaim = sched_mm.memalloc_noreclaim_save()
    try:
        for z in zone_of_interest:
            if z.populated():
                z.m[RECLAIM] += 1
                break
        for shrinker in list(pgdat.shrinkers):
            try:
                shrinker(SHRINK_BATCH << order)
            except Exception as exc:   # a buggy shrinker must not kill reclaim
                debug.hooks.report("shrinker", f"WARNING: shrinker {shrinker!r} failed: {exc!r}")
        pcp.drain_all_pages(pgdat)
    finally:
        sched_mm.memalloc_noreclaim_restore(noreclaim)
        sched_mm.fs_reclaim_release(gfp)
        _in_reclaim = False
    return max(0, sum(z.m[NR_FREE_PAGES] for z in zone_of_interest) - before)


def wakeup_kswapd(pgdat, zone):
    if zone.m[NR_FREE_PAGES] > zone.m[WMARK_LOW]:
        return
    zone.m[KSWAPD_WAKE] += 1
    if pgdat.kswapd is not None:
        pgdat.kswapd(zone)

