"""/proc views of the model in the kernel's own formats (mm/vmstat.c of Linux 6.12).

    buddyinfo(pgdat)  frag_show_print: "Node %d, zone %8s " then "%6lu " per order,
                      populated zones only, node by node
    zoneinfo(pgdat)   zoneinfo_show_print, node by node: every zone the architecture configures
                      (populated or not, as the kernel prints them): pages free,
                      boost, min, low, high, promo, spanned, present, managed,
                      cma, protection; for a populated zone the zone counters the
                      model keeps (nr_free_pages) and the pagesets: count, high,
                      batch, high_min, high_max, vm stats threshold
    vmstat(pgdat)     vmstat_show: "name value" lines of the counters the model
                      keeps, in vmstat_text's order (nr_free_pages, nr_slab_*,
                      pgalloc_<zone>, allocstall_<zone>, pgfree); with more than
                      one node the numa_* items after nr_free_pages (the
                      model's one-node machine is a !CONFIG_NUMA kernel, which
                      has none)
    numastat(pgdat, nid)  /sys/devices/system/node/nodeN/numastat
                      (node_read_numastat): numa_hit, numa_miss, numa_foreign,
                      interleave_hit, local_node, other_node

Which zones exist is a configuration fact, not an emptiness fact: x86_64 has
DMA, DMA32, Normal and Movable (no CONFIG_HIGHMEM on 64-bit); x86_32 has DMA,
Normal, HighMem and Movable (no CONFIG_ZONE_DMA32).  ``protection`` has one
entry per configured zone, as ``lowmem_reserve[MAX_NR_ZONES]`` has.

The pageset lines are a later kernel's ("mm: add pcp high_min high_max to
proc zoneinfo", posted 2024-10-10, after the 6.12 merge window, so 6.13 or
later): 6.12 has ``pcp->high_min``/``high_max`` (since 6.7) but prints only
``count: %i``, ``high:  %i``, ``batch: %i``.  They are printed here because
they are what a reader of the model needs to see (issue 16); the widened
alignment comes with them.  Not printed: the "per-node stats" block (the
model keeps no node counters besides the slab pages of /proc/vmstat) and
/proc/pagetypeinfo (the model has one free list per order, no migrate types,
so a per-migratetype table would be invented).

The pagesets: the model's ``pcp->high`` is fixed at ``high_min`` (the 6.7+
auto-tuning that moves ``high`` between ``high_min`` and ``high_max`` with
the free rate is not modelled); ``high_max`` is computed as
``zone_set_pageset_high_and_batch`` does with
``percpu_pagelist_high_fraction`` = 0 (managed / MIN_PERCPU_PAGELIST_HIGH_FRACTION
split over the node's CPUs).  The counters the model keeps but the kernel
does not export under that name (allocation failures, pcp refills and
drains, kswapd wake-ups) are in the run report's JSON, not invented here.

Read without locks, as the kernel reads these counters: a view taken while
CPUs run is a snapshot, not a consistent cut.  slabinfo lives with the slab.
"""

import numpy as np

from .gfp import MAX_NR_ZONES, ZONE_DMA32, ZONE_HIGHMEM
from .page import PGTY_slab
from .slab_common import KC_FLAGS, KC_NF, SLAB_RECLAIM_ACCOUNT
from .zone import (LOWMEM_RESERVE, MANAGED, NR_FREE_PAGES, NR_PAGE_ORDERS, NUMASTAT_FIELDS,
                   NUMASTAT_NAMES, PGALLOC, PGFREE, PRESENT, RECLAIM, SPANNED, WMARK_HIGH,
                   WMARK_LOW, WMARK_MIN, WMARK_PROMO, ZONE_START_PFN)

MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8
# include/linux/vmstat.h: the zone part of the pgalloc_*/allocstall_* names
VMSTAT_ZONE_NAMES = ("dma", "dma32", "normal", "high", "movable")


def configured_zones(pgdat):
    """Indices of the zones this architecture's kernel has (CONFIG_ZONE_DMA32, CONFIG_HIGHMEM)."""
    layout = pgdat.layout
    return [z for z in range(MAX_NR_ZONES)
            if not (z == ZONE_DMA32 and not layout.has_dma32)
            and not (z == ZONE_HIGHMEM and not layout.has_highmem)]


def fls(x):
    return x.bit_length()


def calculate_normal_threshold(managed_pages, page_shift, nr_cpus):
    """mm/vmstat.c calculate_normal_threshold(): the per-CPU vmstat fold threshold."""
    mem = managed_pages >> (27 - page_shift)
    return min(125, 2 * fls(nr_cpus) * (1 + fls(mem)))


def pcp_high_max(managed_pages, batch, nr_cpus):
    """zone_highsize(zone, batch, 0, MIN_PERCPU_PAGELIST_HIGH_FRACTION)."""
    total = managed_pages // MIN_PERCPU_PAGELIST_HIGH_FRACTION
    return max(total // max(1, nr_cpus), batch << 2)


def buddyinfo(pgdat):
    lines = []
    for zone in pgdat.zones:
        if not zone.populated():
            continue
        counts = "".join(f"{zone.fa_nr[o]:6d} " for o in range(NR_PAGE_ORDERS))
        lines.append(f"Node {zone.nid}, zone {zone.name:>8s} {counts}")
    return "\n".join(lines) + "\n"


def zoneinfo(pgdat):
    zones = configured_zones(pgdat)
    out = []
    for zone in (nd.node_zones[zi] for nd in pgdat.node_data for zi in zones):
        m = zone.m
        out.append(f"Node {zone.nid}, zone {zone.name:>8s}")
        out.append(f"  pages free     {m[NR_FREE_PAGES]}")
        out.append("        boost    0")
        for name, field in (("min", WMARK_MIN), ("low", WMARK_LOW), ("high", WMARK_HIGH),
                            ("promo", WMARK_PROMO), ("spanned", SPANNED), ("present", PRESENT),
                            ("managed", MANAGED)):
            out.append(f"        {name:<8s} {m[field]}")
        out.append("        cma      0")
        prot = ", ".join(str(m[LOWMEM_RESERVE + j]) for j in zones)
        out.append(f"        protection: ({prot})")
        if not zone.populated():
            continue
        out.append(f"      {'nr_free_pages':<12s} {m[NR_FREE_PAGES]}")
        out.append("  pagesets")
        threshold = calculate_normal_threshold(m[MANAGED], pgdat.page_shift, pgdat.nr_cpus)
        split = len(pgdat.node_data[zone.nid].cpus) or pgdat.nr_cpus
        for cpu in range(pgdat.nr_cpus):
            pcp = pgdat.pcp.psets[cpu][zone.id]
            out.append(f"    cpu: {cpu}")
            out.append(f"              count:    {pcp.count}")
            out.append(f"              high:     {pcp.high}")
            out.append(f"              batch:    {pcp.batch}")
            out.append(f"              high_min: {pcp.high}")
            out.append(f"              high_max: {pcp_high_max(m[MANAGED], pcp.batch, split)}")
            out.append(f"  vm stats threshold: {threshold}")
        out.append("  node_unreclaimable:  0")
        out.append(f"  start_pfn:           {m[ZONE_START_PFN]}")
    return "\n".join(out) + "\n"


def _slab_pages(pgdat):
    """(reclaimable, unreclaimable) pages held by slabs (NR_SLAB_*_B / PAGE_SIZE)."""
    mm = pgdat.mem_map
    heads = np.nonzero(np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab)[0]
    slab = getattr(pgdat, "slab", None)
    reclaimable = unreclaimable = 0
    for head in heads:
        pages = 1 << mm.order[int(head)]
        cid = mm.slab_cache[int(head)] - 1
        flags = slab.kc[cid * KC_NF + KC_FLAGS] if slab is not None else 0
        if flags & SLAB_RECLAIM_ACCOUNT:
            reclaimable += pages
        else:
            unreclaimable += pages
    return reclaimable, unreclaimable


def numastat_counts(pgdat, nid):
    """{name: value} of node ``nid``'s numastat (its zones' NUMA events summed)."""
    zones = pgdat.node_data[nid].node_zones
    return {name: sum(int(z.m[field]) for z in zones)
            for name, field in zip(NUMASTAT_NAMES, NUMASTAT_FIELDS)}


def numastat(pgdat, nid):
    return "".join(f"{name} {value}\n" for name, value in numastat_counts(pgdat, nid).items())


def vmstat(pgdat):
    zones = configured_zones(pgdat)
    nodes = pgdat.node_data

    def total(z, field):
        return sum(nd.node_zones[z].m[field] for nd in nodes)
    rows = [("nr_free_pages", sum(total(z, NR_FREE_PAGES) for z in zones))]
    if len(nodes) > 1:
        # the NUMA items (CONFIG_NUMA) come after the zone stats, before the node stats
        for name, field in zip(("numa_hit", "numa_miss", "numa_foreign", "numa_interleave",
                                "numa_local", "numa_other"), NUMASTAT_FIELDS):
            rows.append((name, sum(total(z, field) for z in range(MAX_NR_ZONES))))
    rec, unrec = _slab_pages(pgdat)
    rows += [("nr_slab_reclaimable", rec), ("nr_slab_unreclaimable", unrec)]
    # vm_event_item order (vmstat_text): pgalloc_<zone>, allocstall_<zone>, pgskip_<zone>, pgfree
    rows += [(f"pgalloc_{VMSTAT_ZONE_NAMES[z]}", total(z, PGALLOC)) for z in zones]
    rows += [(f"allocstall_{VMSTAT_ZONE_NAMES[z]}", total(z, RECLAIM)) for z in zones]
    rows.append(("pgfree", sum(total(z, PGFREE) for z in zones)))
    return "".join(f"{name} {value}\n" for name, value in rows)
