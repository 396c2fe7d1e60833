"""cache-thrash: active false sharing (mimalloc-bench cache-thrash).

Every CPU, on its own, allocates a small object, writes it ``WRITES`` times
and frees it, over and over; nothing is shared.  An allocator that hands
two CPUs objects in one cache line makes them thrash it.  Each CPU also
keeps a few objects alive so the slab pages stay partly in use, and checks
its last write before every free.
"""

from kernel_model.gfp import GFP_KERNEL

from .common import check, fill, write_own

OBJ_SIZE = 8
WRITES = 4
KEEP = 16
kept = []


def process(k):
    addr = k.kmalloc(OBJ_SIZE, GFP_KERNEL)
    if addr is None:
        return
    write_own(k, addr, OBJ_SIZE, WRITES)
    if len(kept) < KEEP and k.rng.random() < 0.1:
        fill(k, addr, OBJ_SIZE)
        kept.append(addr)
    else:
        k.kfree(addr)


def teardown(k):
    for addr in kept:
        check(k, addr, OBJ_SIZE, "teardown")
        k.kfree(addr)
    kept.clear()
