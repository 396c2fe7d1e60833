"""kmem_cache_free() into a cache the object does not come from (two caches of
the same size: a copy-paste of the free path)."""

from kernel_model.gfp import GFP_KERNEL

caches = {}


def setup(k):
    caches["req"] = k.kmem_cache_create("bug_req", 64)
    caches["resp"] = k.kmem_cache_create("bug_resp", 64)


def process(k):
    obj = k.kmem_cache_alloc(caches["resp"], GFP_KERNEL)
    if obj is None:
        return
    k.kmem_cache_free(caches["req"], obj)  # BUG: obj came from bug_resp


def teardown(k):
    for c in caches.values():
        k.kmem_cache_destroy(c)
