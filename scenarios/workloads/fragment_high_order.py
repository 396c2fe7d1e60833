"""fragment-then-high-order: checkerboard the free lists, then ask for order-N blocks.

CPU 0's setup takes every page it can get at order 0 (GFP_NOWAIT, then
GFP_ATOMIC into the reserves, then __GFP_MEMALLOC past the watermarks), sorts them by pfn and frees every other one:
free memory is now about half of the zone, all in single pages -- a
checkerboard.  It records the kernel's fragmentation index of the zone for
orders 1..MAX_TRY (mm/vmstat.c __fragmentation_index, in thousandths:
-1000 a request would succeed, towards 0 failure for lack of memory,
towards 1000 failure for fragmentation) in the per-CPU variables
``extfrag_o<N>``, then tells the other CPUs to start.  Every CPU then asks
for order 1..MAX_TRY blocks with GFP_KERNEL|__GFP_NORETRY|__GFP_NOWARN
(reclaim drains the pcp lists; the model has no compaction) and frees what
it gets; attempts and successes go to ``high_o<N>_tries`` / ``high_o<N>_ok``,
so the report's per-CPU sums give the success ratio per order.
"""

from kernel_model import extfrag
from kernel_model import pgdat as _pgdat
from kernel_model.gfp import GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT, __GFP_MEMALLOC, __GFP_NORETRY, __GFP_NOWARN

MAX_TRY = 5
FILL_GFP = (GFP_NOWAIT | __GFP_NOWARN, GFP_ATOMIC | __GFP_NOWARN,
            GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOWARN)
TRY_GFP = GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN
held = []            # pages CPU 0 keeps: the other half of the checkerboard
started = False
tries = 0


def fragmentation_index(zone, order):
    """mm/vmstat.c fill_contig_page_info + __fragmentation_index, for ``zone``."""
    return extfrag.fragmentation_index(zone.fa_nr, order)


def _main_zone():
    zones = [z for z in _pgdat.current().zones if z.populated()]
    return max(zones, key=lambda z: z.managed_pages())


def setup(k):
    global started
    for order in range(1, MAX_TRY + 1):          # present in the report even when never met
        k.this_cpu_write(f"high_o{order}_tries", 0)
        k.this_cpu_write(f"high_o{order}_ok", 0)
    if k.cpu != 0:
        return
    pages = []
    for gfp in FILL_GFP:
        while (page := k.alloc_pages(gfp, 0)) is not None:
            pages.append(page)
        k.cond_resched()
    pages.sort(key=lambda p: p.pfn)
    for page in pages:
        if page.pfn % 2:
            getattr(k, "__free_pages")(page, 0)
        else:
            held.append(page)
    k.this_cpu_write("checkerboard_pages", len(held))
    zone = _main_zone()
    for order in range(1, MAX_TRY + 1):
        k.this_cpu_write(f"extfrag_o{order}", fragmentation_index(zone, order))
    for cpu in range(1, k.nr_cpus):
        k.send(cpu, 0)                    # "the checkerboard is laid": start asking
    started = True


def process(k):
    global started, tries
    if not started:
        started = k.recv() is not None
        return
    order = 1 + tries % MAX_TRY
    tries += 1
    k.this_cpu_inc(f"high_o{order}_tries")
    page = k.alloc_pages(TRY_GFP, order)
    if page is not None:
        k.this_cpu_inc(f"high_o{order}_ok")
        getattr(k, "__free_pages")(page, order)


def teardown(k):
    for page in held:
        getattr(k, "__free_pages")(page, 0)
    held.clear()
    while k.recv() is not None:
        pass
