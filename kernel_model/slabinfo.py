"""/proc/slabinfo in the kernel's format (mm/slab_common.c cache_show, "version: 2.1").

    slabinfo - version: 2.1
    # name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>

objsize is s->size (the object with its debug metadata), as the kernel
prints.  The counts and the tunables come from the allocator
(slabinfo_counts, slabinfo_tunables): SLUB prints tunables 0 0 0, the
classic SLAB its array cache limit and batchcount.  Read without locks: a snapshot, as in the
kernel.  ``slub_stats(cache)`` gives the SLUB_STATS counters of
/sys/kernel/slab/<cache>/.
"""

from . import slab_common as sc

HEADER = ("slabinfo - version: 2.1\n"
          "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
          " : tunables <limit> <batchcount> <sharedfactor>"
          " : slabdata <active_slabs> <num_slabs> <sharedavail>\n")


def cache_show(s):
    allocator = s.state.allocator
    active_objs, num_objs, active_slabs, num_slabs = allocator.slabinfo_counts(s)
    limit, batch, shared = allocator.slabinfo_tunables(s)
    return (f"{s.name:<17s} {active_objs:6d} {num_objs:6d} {s.size:6d} {s.objects:4d} "
            f"{1 << s.order:4d} : tunables {limit:4d} {batch:4d} {shared:4d}"
            f" : slabdata {active_slabs:6d} {num_slabs:6d} {0:6d}\n")


def slabinfo(pgdat=None):
    """The text of /proc/slabinfo, newest cache first (slab_caches list order)."""
    caches = sc.all_caches(pgdat)
    return HEADER + "".join(cache_show(s) for s in reversed(caches))


def slub_stats(s):
    return sc.slab_stats(s)
