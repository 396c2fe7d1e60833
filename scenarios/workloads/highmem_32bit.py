"""highmem-32bit: x86_32 with 1 GiB -- ZONE_HIGHMEM above 896 MiB, pages without an address.

Process context takes GFP_HIGHUSER pages (alloc_pages only: __get_free_pages
and kmalloc must never see __GFP_HIGHMEM) and GFP_KERNEL pages; for each it
checks what the kernel guarantees: a lowmem page has page_address() in the
direct map, a highmem page (pfn at or above the HighMem zone start) has
page_address() NULL until kmap, and GFP_KERNEL never returns highmem.
Interrupts take GFP_ATOMIC lowmem pages.  The per-CPU variables
``highmem_pages`` / ``lowmem_pages`` count what GFP_HIGHUSER got.
"""

from kernel_model import pgdat as _pgdat
from kernel_model.gfp import GFP_ATOMIC, GFP_HIGHUSER, GFP_KERNEL, __GFP_NOWARN

MAX_HELD = {"process": 256, "hardirq": 8}
held = {"process": [], "hardirq": []}
highmem_start = None


def setup(k):
    global highmem_start
    zones = {z.name: z for z in _pgdat.current().zones}
    hm = zones.get("HighMem")
    highmem_start = hm.zone_start_pfn if hm is not None and hm.populated() else None
    if highmem_start is None:
        raise AssertionError("highmem-32bit needs an x86_32 layout with memory above 896 MiB")
    k.this_cpu_write("highmem_pages", 0)
    k.this_cpu_write("lowmem_pages", 0)


def _take(k, gfp, order):
    page = k.alloc_pages(gfp, order)
    if page is None:
        return
    high = page.pfn >= highmem_start
    addr = k.page_address(page)
    if high and addr is not None:
        raise AssertionError(f"highmem pfn {page.pfn:#x} has page_address {addr:#x}, expected NULL")
    if not high and addr is None:
        raise AssertionError(f"lowmem pfn {page.pfn:#x} has no page_address")
    if high and not gfp & 0x02:
        raise AssertionError(f"gfp {gfp:#x} without __GFP_HIGHMEM got highmem pfn {page.pfn:#x}")
    if gfp & 0x02:
        k.this_cpu_inc("highmem_pages" if high else "lowmem_pages")
    held[k.context].append((page, order))


def _step(k, choices):
    rng, mine = k.rng, held[k.context]
    if mine and (len(mine) >= MAX_HELD[k.context] or rng.random() < 0.45):
        page, order = mine.pop(rng.randrange(len(mine)))
        getattr(k, "__free_pages")(page, order)
        return
    _take(k, rng.choice(choices), rng.randint(0, 2))


def process(k):
    _step(k, (GFP_HIGHUSER, GFP_HIGHUSER, GFP_KERNEL))


def hardirq(k):
    _step(k, (GFP_ATOMIC | __GFP_NOWARN,))


def teardown(k):
    for mine in held.values():
        while mine:
            page, order = mine.pop()
            getattr(k, "__free_pages")(page, order)
