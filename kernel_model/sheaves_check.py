"""Consistency walks of the sheaves allocator, for tests and quiescent checkers.

Where every object and every sheaf slot of a cache is, read without locks
while no CPU is in the middle of an operation (slab_common.check_slabs, the
stateful tests): the objects sheaves hold (cached_objects, NumPy over the
cache's sheaf slots), a slab's free objects including those in sheaves
(free_objects_of_slab, the allocator contract's), and the place of every
sheaf slot -- a CPU's main or spare, a barn list of some node, the free
slots, a caller's hands (check_sheaves).  The slot layout is sheaves_barn's.
"""

import numpy as np

from . import slab_debug, slub
from .sheaves_barn import (BARN_EMPTY, BARN_FULL, BARN_NR_EMPTY, BARN_NR_FULL, BARN_POOL,
                           BARN_POOL_FREE, SH_CAPACITY, SH_INUSE, SH_NEXT, SH_OBJECTS, SH_SIZE,
                           PCS_MAIN, PCS_NF, PCS_SPARE, SHEAF_CALLER, SHEAF_KERNEL,
                           SHEAF_MAX_CAPACITY, SHEAF_NF, SHEAF_UNUSED)


def pcs_sheaves(s, cpu):
    """(main, spare) sheaf ids of a CPU; spare is None when NULL."""
    p = s.pcs_base + cpu * PCS_NF
    spare = s.pcs[p + PCS_SPARE]
    return s.pcs[p + PCS_MAIN] - 1, (spare - 1 if spare else None)


def cached_objects(s, start=0, end=1 << 64):
    """[(object address, sheaf id)] for the objects in [start, end) held by a sheaf
    in use (any CPU's main or spare, the barn, a caller's prefilled sheaf), and the
    problems of the sheaves themselves (a size over the capacity).  NumPy over
    the cache's sheaf slots: check_slabs asks once per slab."""
    if not s.sheaf_capacity:
        return [], []
    rows = s.pgdat.arena.np("slab_sheaf").reshape(-1, SHEAF_NF)[
        s.sheaf_first:s.sheaf_first + s.nr_sheaves]
    inuse = rows[:, SH_INUSE] != 0
    sizes = rows[:, SH_SIZE].astype(np.int64)
    caps = rows[:, SH_CAPACITY].astype(np.int64)
    problems = [f"{s.name} sheaf {s.sheaf_first + int(i)}: size {sizes[i]} over capacity "
                f"{caps[i]}" for i in np.nonzero(inuse & (sizes > caps))[0]]
    sizes = np.minimum(sizes, caps) * inuse
    held = np.arange(SHEAF_MAX_CAPACITY)[None, :] < sizes[:, None]
    objs = rows[:, SH_OBJECTS:]
    hit = held & (objs >= start) & (objs < end)
    gi, oi = np.nonzero(hit)
    return [(int(objs[g, o]), s.sheaf_first + int(g)) for g, o in zip(gi, oi)], problems


def free_objects_of_slab(s, head):
    """Addresses slab ``head`` holds free: its freelist plus its objects sitting in
    any sheaf (every CPU's main and spare, the barn, prefilled ones).
    Returns (set, problems)."""
    node = s.pgdat
    mm = node.mem_map
    problems = []
    free = set()
    start = node.page_offset + (head << node.page_shift)
    end = start + (node.page_size << mm.order[head])
    objects = (mm.slab_counters[head] >> 16) & 0x7FFF
    inuse = mm.slab_counters[head] & 0xFFFF
    n = slub.walk_freelist(s, head, "slab", mm.slab_freelist[head], free, problems)
    if n != objects - inuse:
        problems.append(f"{s.name} slab {head:#x}: Wrong object count: freelist has {n}, "
                        f"counters say objects {objects} inuse {inuse}")
    cached, _ = cached_objects(s, start, end)    # a sheaf's own problems: check_sheaves
    seen = {}
    for obj, g in cached:
        if slab_debug.obj_index(s, head, obj) is None:
            problems.append(f"{s.name} slab {head:#x}: sheaf {g} holds {obj:#x}, not an "
                            "object start")
        elif obj in seen:
            problems.append(f"{s.name}: object {obj:#x} twice in sheaves (sheaf {seen[obj]} "
                            f"and sheaf {g})" if seen[obj] != g else
                            f"{s.name}: object {obj:#x} twice in sheaf {g}")
        elif obj in free:
            problems.append(f"{s.name}: object {obj:#x} both on slab {head:#x}'s freelist "
                            f"and in sheaf {g}")
        seen.setdefault(obj, g)
        free.add(obj)
    return free, problems


def check_sheaves(s, caller_sheaves=None):
    """Every sheaf slot of the cache is in exactly one place: a CPU's main or
    spare, a barn list, the free slots, or a caller's hands (marked so by
    kmem_cache_prefill_sheaf; ``caller_sheaves``, if given, must be exactly
    those handles); counts match the lists; sizes fit.  For tests and
    quiescent checks (no CPU in the middle of an operation).  Returns problems."""
    if not s.sheaf_capacity:
        return []
    problems = []
    where = {}
    sh = s.sh

    def place(g, what):
        if not s.sheaf_first <= g < s.sheaf_first + s.nr_sheaves:
            problems.append(f"{s.name}: {what} is sheaf {g}, not one of this cache's")
        elif g in where:
            problems.append(f"{s.name}: sheaf {g} is both {where[g]} and {what}")
        else:
            where[g] = what

    for cpu in range(s.pgdat.nr_cpus):
        main, spare = pcs_sheaves(s, cpu)
        place(main, f"CPU {cpu}'s main")
        if spare is not None:
            place(spare, f"CPU {cpu}'s spare")
    lists = [(barn.base, BARN_FULL, BARN_NR_FULL, "barn full" + (f" (node {barn.nid})" if
                                                                  s.numa else ""))
             for barn in s.barns]
    lists += [(barn.base, BARN_EMPTY, BARN_NR_EMPTY, "barn empty" + (f" (node {barn.nid})" if
                                                                     s.numa else ""))
              for barn in s.barns]
    lists.append((s.pool_base, BARN_POOL, BARN_POOL_FREE, "free slot"))
    for b, head, count, what in lists:
        g1, n = s.barn[b + head], 0
        while g1 and n <= s.nr_sheaves:
            place(g1 - 1, what)
            n += 1
            g1 = sh[(g1 - 1) * SHEAF_NF + SH_NEXT]
        if n != s.barn[b + count]:
            problems.append(f"{s.name}: {what} list has {n} sheaves, the count says "
                            f"{s.barn[b + count]}")
    mine = set(h - 1 for h in caller_sheaves) if caller_sheaves is not None else None
    for g in range(s.sheaf_first, s.sheaf_first + s.nr_sheaves):
        w = g * SHEAF_NF
        mark = sh[w + SH_INUSE]
        if mark == SHEAF_CALLER and (mine is None or g in mine):
            place(g, "a caller's prefilled sheaf")
        elif mine is not None and g in mine:
            problems.append(f"{s.name}: sheaf {g} is held by the caller but marked {mark}")
        what = where.get(g)
        if what is None:
            problems.append(f"{s.name}: sheaf {g} is lost (mark {mark}, size "
                            f"{sh[w + SH_SIZE]})")
            continue
        want = (SHEAF_UNUSED if what == "free slot" else
                SHEAF_CALLER if what.startswith("a caller") else SHEAF_KERNEL)
        if mark != want:
            problems.append(f"{s.name}: sheaf {g} is {what} but marked {mark}")
        if what == "free slot":
            continue
        size, cap = sh[w + SH_SIZE], sh[w + SH_CAPACITY]
        if size > cap:
            problems.append(f"{s.name}: sheaf {g} ({what}) holds {size} > capacity {cap}")
        if what.startswith("barn full") and size != s.sheaf_capacity:
            problems.append(f"{s.name}: sheaf {g} on the barn's full list holds {size} of "
                            f"{s.sheaf_capacity}")
        if what.startswith("barn empty") and size:
            problems.append(f"{s.name}: sheaf {g} on the barn's empty list holds {size}")
    return problems
