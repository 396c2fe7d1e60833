"""kmemleak and the classic SLAB's OFF_SLAB freelists: an index array is a kmalloc
object only struct slab (slab->freelist) refers to -- referenced, never a leak,
as kmemleak's scan of the struct pages finds it in the kernel."""

import kernel_model as km
from harness import checkers
from harness.checkers import kmemleak

GK = km.GFP_KERNEL


def _kit(booted, debug_hooks):
    node = booted(total="64M", nr_cpus=2, page_data=True, slab="slab",
                  extra_sections=checkers.arena_sections(("memory", "kmemleak")))
    debug_hooks(checkers.build(["memory", "kmemleak"], node))
    # 2016 bytes + red zones + the track words: 2048-byte slots, two to a page, no
    # room left for the index array on the slab: OFF_SLAB even with debug data.
    c = km.kmem_cache_create("offslab", 2016)
    assert c.off_slab
    return node, c


def test_offslab_freelists_are_not_leaks(booted, debug_hooks):
    node, c = _kit(booted, debug_hooks)
    objs = [km.kmem_cache_alloc(c, GK) for _ in range(6)]
    assert kmemleak.KmemleakChecker(None, node).scan(roots=objs) == []


def test_a_leak_beside_them_is_still_found(booted, debug_hooks):
    node, c = _kit(booted, debug_hooks)
    objs = [km.kmem_cache_alloc(c, GK) for _ in range(6)]
    vs = kmemleak.KmemleakChecker(None, node).scan(roots=objs[1:])
    assert len(vs) == 1 and f"{objs[0]:#x}" in vs[0].splat and "(size 2016)" in vs[0].title
