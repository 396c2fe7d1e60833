"""Correct twin of cache_destroy_live: free every object, then destroy."""

from kernel_model.gfp import GFP_KERNEL

state = {}
live = []


def setup(k):
    state["cache"] = k.kmem_cache_create("bug_conn", 120)


def process(k):
    obj = k.kmem_cache_alloc(state["cache"], GFP_KERNEL)
    if obj is None:
        return
    live.append(obj)
    if len(live) > 8:
        k.kmem_cache_free(state["cache"], live.pop(0))


def teardown(k):
    cache = state["cache"]
    for obj in live:
        k.kmem_cache_free(cache, obj)
    live.clear()
    k.kmem_cache_destroy(cache)
