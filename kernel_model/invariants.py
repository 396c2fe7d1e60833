"""Whole-model consistency checks of the page allocator (bulk, NumPy).

``check_page_allocator(pgdat)`` returns a list of problems, each naming the
structure that is wrong (empty when consistent):

- every page frame is in exactly one place: a buddy free block, a pcp list
  or an allocated block (an allocated head has _refcount > 0 and its order);
- free blocks are aligned to their order, lie inside their zone, carry
  PGTY_buddy on the head and nowhere else;
- free_area[order].nr_free equals the length of the list, NR_FREE_PAGES
  equals the pages on the lists, and free + pcp + allocated = managed;
- pcp->count equals the pages on that CPU's lists.

Meant for quiescent moments (end of a run, between hypothesis steps, a
stopped machine); it takes no locks.
"""

import numpy as np

from .list import list_walk
from .page import PGTY_buddy
from .pcp import NR_PCP_ORDERS
from .zone import MANAGED, NR_FREE_PAGES, NR_PAGE_ORDERS


def check_page_allocator(pgdat, allocated=None):
    """``allocated``: optional {pfn: order} the caller believes it holds."""
    problems = []
    n = pgdat.nr_pages
    mm = pgdat.mem_map
    cover = np.zeros(n, dtype=np.int32)
    buddy_heads = set()
    for zone in pgdat.zones:
        if not zone.populated():
            continue
        listed = 0
        for order in range(NR_PAGE_ORDERS):
            try:
                pfns = list_walk(mm.next, zone.fa_head, order, limit=n)
            except RuntimeError as exc:
                problems.append(f"zone {zone.name} free_area[{order}]: {exc}")
                continue
            if len(pfns) != zone.fa_nr[order]:
                problems.append(f"zone {zone.name} free_area[{order}].nr_free is "
                                f"{zone.fa_nr[order]} but the list holds {len(pfns)}")
            for pfn in pfns:
                if pfn & ((1 << order) - 1):
                    problems.append(f"free block pfn {pfn:#x} order {order} is not aligned")
                if not (zone.zone_start_pfn <= pfn and pfn + (1 << order) <= zone.zone_end_pfn):
                    problems.append(f"free block pfn {pfn:#x} order {order} crosses zone {zone.name}")
                    continue
                if mm.type[pfn] != PGTY_buddy or mm.order[pfn] != order:
                    problems.append(f"free block pfn {pfn:#x}: head lacks PageBuddy/order {order}")
                cover[pfn:pfn + (1 << order)] += 1
                buddy_heads.add(pfn)
            listed += len(pfns) << order
        if listed != zone.m[NR_FREE_PAGES]:
            problems.append(f"zone {zone.name} NR_FREE_PAGES is {zone.m[NR_FREE_PAGES]} "
                            f"but its free lists hold {listed} pages")
    pcp_pages = [0] * len(pgdat.zones)
    for cpu, row in enumerate(pgdat.pcp.psets):
        for pcp in row:
            held = 0
            for order in range(NR_PCP_ORDERS):
                try:
                    pfns = list_walk(mm.next, pcp.head, order, limit=n)
                except RuntimeError as exc:
                    problems.append(f"CPU {cpu} pcp {pcp.zone.name}[{order}]: {exc}")
                    continue
                for pfn in pfns:
                    cover[pfn:pfn + (1 << order)] += 1
                held += len(pfns) << order
            if held != pcp.count:
                problems.append(f"CPU {cpu} pcp {pcp.zone.name}: count {pcp.count} but lists hold {held}")
            pcp_pages[pcp.zone.id] += held
    types = np.frombuffer(mm.type, dtype=np.uint8)
    stray = np.nonzero(types == PGTY_buddy)[0]
    for pfn in stray[:5]:
        if int(pfn) not in buddy_heads:
            problems.append(f"pfn {int(pfn):#x} has PageBuddy but is on no free list")
    refs = np.frombuffer(mm.ref, dtype=np.int32)
    orders = np.frombuffer(mm.order, dtype=np.uint8)
    heads = np.nonzero(refs > 0)[0]
    alloc_pages = [0] * len(pgdat.zones)
    zone_of = np.frombuffer(mm.zone, dtype=np.uint8)
    for pfn in heads:
        order = int(orders[pfn])
        cover[pfn:pfn + (1 << order)] += 1
        alloc_pages[zone_of[pfn]] += 1 << order
    if allocated is not None:
        mine = {int(p): int(orders[p]) for p in heads}
        if mine != allocated:
            missing = set(allocated) - set(mine)
            extra = set(mine) - set(allocated)
            problems.append(f"allocated blocks differ from the caller's: missing {sorted(missing)[:5]}, "
                            f"unexpected {sorted(extra)[:5]}")
    bad = np.nonzero(cover != 1)[0]
    if len(bad):
        pfn = int(bad[0])
        problems.append(f"{len(bad)} page frames are not in exactly one place "
                        f"(first pfn {pfn:#x} counted {int(cover[pfn])} times)")
    for zone in pgdat.zones:
        total = zone.m[NR_FREE_PAGES] + pcp_pages[zone.id] + alloc_pages[zone.id]
        if total != zone.m[MANAGED]:
            problems.append(f"zone {zone.name}: free {zone.m[NR_FREE_PAGES]} + pcp {pcp_pages[zone.id]} "
                            f"+ allocated {alloc_pages[zone.id]} != managed {zone.m[MANAGED]}")
    return problems


