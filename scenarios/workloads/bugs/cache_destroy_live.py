"""kmem_cache_destroy() while objects of the cache are still allocated (the
module exit path destroys the cache before draining its list)."""

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
    k.kmem_cache_destroy(cache)           # BUG: live still holds objects of the cache
    for obj in live:
        k.kmem_cache_free(cache, obj)
    live.clear()
