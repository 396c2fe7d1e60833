"""test_kmalloc's allocator-independent tests (kmalloc/kzalloc/kfree/ksize/krealloc,
GFP fix-ups, poison, red zones, tracks, double and invalid frees, wrong cache)
run again with the sheaves allocator under them: the same contract, a third
implementation."""

import pytest

import kernel_model as km
from kernel_model import debug, gfp as g

from slab_helpers import RecordingHooks
import test_kmalloc

# The fix-up text differs with sheaves (see the test below): that one is rewritten.
OWN = {"test_highmem_and_dma32_to_slab_are_fixed_up_and_reported"}
NAMES = [n for n in dir(test_kmalloc) if n.startswith("test_") and n not in OWN
         and "snode" in test_kmalloc.__dict__[n].__code__.co_varnames[:1]]
globals().update({n: test_kmalloc.__dict__[n] for n in NAMES})


@pytest.fixture
def snode():
    with km.boot(total="32M", page_data=True, slab="sheaves") as n:
        hooks = RecordingHooks()
        old = debug.install(hooks)
        n.hooks = hooks
        try:
            yield n
        finally:
            debug.install(old)


def test_every_allocator_test_of_test_kmalloc_is_rerun_here():
    assert len(NAMES) >= 8          # the discovery above found them (not an empty list)


def test_highmem_to_slab_is_fixed_up_and_reported_by_every_new_slab_of_a_refill(snode):
    """The first allocation refills a whole sheaf (28 objects of 300 bytes: two
    new slabs), with the caller's gfp plus __GFP_NOMEMALLOC as refill_sheaf
    passes it; each new_slab fixes the mask up and says so, as 7.0 would."""
    c = km.kmem_cache_create("fresh", 300)
    a = km.kmem_cache_alloc(c, km.GFP_KERNEL | g.__GFP_HIGHMEM)
    assert a is not None and snode.virt_to_pfn(a) is not None
    text = [t for k, t in snode.hooks.reports if k == "gfp-slab-bug"]
    slabs = -(-c.sheaf_capacity // c.objects)
    assert len(text) == slabs >= 2
    assert set(text) == {"Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0x80cc0 "
                         "(GFP_KERNEL|__GFP_NOMEMALLOC). Fix your code!"}
    big = km.kmalloc(100000, km.GFP_KERNEL | g.__GFP_DMA32)
    assert sum("Fix your code!" in t for _, t in snode.hooks.reports) == slabs + 1
    km.kfree(big)
    km.kmem_cache_free(c, a)
