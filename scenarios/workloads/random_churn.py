"""random-churn: stress-ng's malloc stressor shape on kmalloc.

Each process-context step picks malloc, calloc, realloc or free at random on
a per-CPU table of objects of random sizes (log-uniform, 8 bytes to 8 KiB
with now and then a large kmalloc past the biggest cache).  Every object
holds its self-address pattern (common.pattern); a free checks it first, a
realloc checks the kept prefix moved with the data, a calloc checks zeroes.
Any mismatch is a reported failure.  Hardirqs and softirqs do the same with
GFP_ATOMIC on small tables of their own.
"""

import math

from kernel_model.gfp import GFP_ATOMIC, GFP_KERNEL

from .common import PatternMismatch, check, fill

MAX_OBJS = {"process": 256, "hardirq": 8, "softirq": 16}
tables = {ctx: {} for ctx in MAX_OBJS}           # addr -> size, per context


def _size(rng):
    if rng.random() < 0.01:
        return rng.randint(16 << 10, 64 << 10)   # kmalloc_large: straight from the page allocator
    return min(8192, int(math.exp(rng.uniform(math.log(8), math.log(8193)))))


def _step(k, gfp):
    rng, objs = k.rng, tables[k.context]
    u = rng.random()
    if objs and (len(objs) >= MAX_OBJS[k.context] or u < 0.35):
        addr = rng.choice(list(objs)) if len(objs) < 64 else next(iter(objs))
        size = objs.pop(addr)
        check(k, addr, size, "free")
        k.kfree(addr)
    elif objs and u < 0.5:
        addr = rng.choice(list(objs)) if len(objs) < 64 else next(iter(objs))
        size, new_size = objs[addr], _size(rng)
        new = k.krealloc(addr, new_size, gfp)
        if new is None:                           # the old object is untouched
            return
        del objs[addr]
        check(k, new, min(size, new_size), "krealloc (kept prefix)", expect_addr=addr)
        fill(k, new, new_size)
        objs[new] = new_size
    else:
        size = _size(rng)
        zero = u > 0.85
        addr = (k.kzalloc if zero else k.kmalloc)(size, gfp)
        if addr is None:
            return
        if zero and k.read(addr, min(size, 64)) != bytes(min(size, 64)):
            raise PatternMismatch(f"kzalloc({size}) at {addr:#x} is not zeroed")
        fill(k, addr, size)
        objs[addr] = size


def process(k):
    _step(k, GFP_KERNEL)


def hardirq(k):
    _step(k, GFP_ATOMIC)
    k.raise_softirq()


def softirq(k):
    _step(k, GFP_ATOMIC)


def teardown(k):
    for objs in tables.values():
        for addr, size in objs.items():
            check(k, addr, size, "teardown")
            k.kfree(addr)
        objs.clear()
