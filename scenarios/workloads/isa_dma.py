"""isa-dma: GFP_DMA allocations must come from below 16 MiB (ZONE_DMA, ISA's reach).

Process context and the softirq take pages (alloc_pages and
__get_free_pages with GFP_DMA), kmalloc(GFP_DMA) objects (the dma-kmalloc
caches) and objects of a SLAB_CACHE_DMA cache, alongside ordinary
GFP_KERNEL ones competing for the same memory; every DMA page's and
object's physical address is checked to end below 16 MiB (a failure
otherwise), and the pages' zone must be DMA.
"""

from kernel_model.gfp import GFP_ATOMIC, GFP_DMA, GFP_KERNEL, __GFP_NOWARN
from kernel_model.slab_common import SLAB_CACHE_DMA

ISA_LIMIT = 16 << 20
MAX_HELD = {"process": 96, "softirq": 16}
held = {"process": [], "softirq": []}
cache = None


def setup(k):
    global cache
    cache = k.kmem_cache_create(f"isa_dma_buf-{k.cpu}", 512, 0, SLAB_CACHE_DMA)


def _phys(k, addr):
    return k.page_to_pfn(k.virt_to_page(addr)) * 4096 + addr % 4096


def _check(k, what, first_byte, nbytes):
    if first_byte + nbytes > ISA_LIMIT:
        raise AssertionError(f"{what} at physical {first_byte:#x} (+{nbytes}) is above 16 MiB "
                             f"(CPU {k.cpu}, {k.context})")


def _free(k, kind, obj, order):
    """Give back one held item the way it was allocated."""
    if kind == "pages":
        getattr(k, "__free_pages")(obj, order)
    elif kind == "gfp_pages":
        k.free_pages(obj, order)
    elif kind == "cache":
        k.kmem_cache_free(cache, obj)
    else:
        k.kfree(obj)


def _step(k, dma_gfp, other_gfp):
    rng, mine = k.rng, held[k.context]
    if mine and (len(mine) >= MAX_HELD[k.context] or rng.random() < 0.45):
        _free(k, *mine.pop(rng.randrange(len(mine))))
        return
    u, order = rng.random(), rng.randint(0, 2)
    if u < 0.3:
        page = k.alloc_pages(dma_gfp, order)
        if page is not None:
            _check(k, f"alloc_pages(GFP_DMA, {order})", page.pfn * 4096, 4096 << order)
            mine.append(("pages", page, order))
    elif u < 0.45:
        addr = getattr(k, "__get_free_pages")(dma_gfp, order)
        if addr:
            _check(k, f"__get_free_pages(GFP_DMA, {order})", _phys(k, addr), 4096 << order)
            mine.append(("gfp_pages", addr, order))
    elif u < 0.65:
        size = rng.choice((32, 128, 512, 2048))
        addr = k.kmalloc(size, dma_gfp)
        if addr is not None:
            _check(k, f"kmalloc({size}, GFP_DMA)", _phys(k, addr), size)
            mine.append(("kmalloc", addr, 0))
    elif u < 0.8 and cache is not None:
        addr = k.kmem_cache_alloc(cache, other_gfp)      # SLAB_CACHE_DMA: DMA whatever the gfp
        if addr is not None:
            _check(k, "SLAB_CACHE_DMA object", _phys(k, addr), 512)
            mine.append(("cache", addr, 0))
    else:
        page = k.alloc_pages(other_gfp, order)           # competition for low memory
        if page is not None:
            mine.append(("pages", page, order))


def process(k):
    _step(k, GFP_KERNEL | GFP_DMA | __GFP_NOWARN, GFP_KERNEL)


def softirq(k):
    _step(k, GFP_ATOMIC | GFP_DMA | __GFP_NOWARN, GFP_ATOMIC | __GFP_NOWARN)


def hardirq(k):
    k.raise_softirq()


def teardown(k):
    for ctx in held:
        while held[ctx]:
            _free(k, *held[ctx].pop())
    if cache is not None:
        k.kmem_cache_destroy(cache)
