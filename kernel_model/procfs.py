"""/proc views of the model in the kernel's own formats (mm/vmstat.c).

    buddyinfo(pgdat)  frag_show_print: "Node 0, zone %8s " then "%6lu " per order
    zoneinfo(pgdat)   zoneinfo_show_print: free, boost, min, low, high, promo,
                      spanned, present, managed, protection, pagesets

Read without locks, as the kernel reads these counters: a view taken while
CPUs run is a snapshot, not a consistent cut.  slabinfo lives with the slab.
"""

from .gfp import MAX_NR_ZONES
from .zone import (COUNTER_NAMES, LOWMEM_RESERVE, MANAGED, NR_FREE_PAGES,
                   NR_PAGE_ORDERS, PGALLOC, PRESENT, SPANNED, WMARK_HIGH, WMARK_LOW,
                   WMARK_MIN, WMARK_PROMO, ZONE_START_PFN)


def buddyinfo(pgdat):
    lines = []
    for zone in pgdat.zones:
        if not zone.populated():
            continue
        counts = "".join(f"{zone.fa_nr[o]:6d} " for o in range(NR_PAGE_ORDERS))
        lines.append(f"Node 0, zone {zone.name:>8s} {counts}")
    return "\n".join(lines) + "\n"


def zoneinfo(pgdat):
    out = []
    for zone in pgdat.zones:
        m = zone.m
        out.append(f"Node 0, zone {zone.name:>8s}")
        out.append(f"  pages free     {m[NR_FREE_PAGES]}")
        out.append("        boost    0")
        for name, field in (("min", WMARK_MIN), ("low", WMARK_LOW), ("high", WMARK_HIGH),
                            ("promo", WMARK_PROMO), ("spanned", SPANNED), ("present", PRESENT),
                            ("managed", MANAGED)):
            out.append(f"        {name:<8s} {m[field]}")
        out.append("        cma      0")
        prot = ", ".join(str(m[LOWMEM_RESERVE + j]) for j in range(MAX_NR_ZONES))
        out.append(f"        protection: ({prot})")
        if not zone.populated():
            continue
        out.append(f"      nr_free_pages {m[NR_FREE_PAGES]}")
        for i, name in enumerate(COUNTER_NAMES):
            out.append(f"      {name} {m[PGALLOC + i]}")
        out.append("  pagesets")
        for cpu in range(pgdat.nr_cpus):
            pcp = pgdat.pcp.psets[cpu][zone.idx]
            out.append(f"    cpu: {cpu}")
            out.append(f"              count: {pcp.count}")
            out.append(f"              high:  {pcp.high}")
            out.append(f"              batch: {pcp.batch}")
        out.append(f"  node_unreclaimable:  0")
        out.append(f"  start_pfn:           {m[ZONE_START_PFN]}")
    return "\n".join(out) + "\n"
