"""How the classic SLAB sizes a cache's slabs (mm/slab.c, Linux 6.7): objects per
slab, the page order, the left-over for colouring, and where the freelist lives.

    cache_estimate        (num, left_over) of a 2**order-page slab; the u16
                          index array counts against the slab only on-slab
    calculate_slab_order  the smallest order wasting at most 1/8 (up to
                          slab_max_order; SLAB_RECLAIM_ACCOUNT takes the first
                          order that fits); off-slab only where a kmalloc cache
                          that is not itself off-slab holds the index array in
                          at most half an object
    set_off_slab_cache    OFF_SLAB if the left-over could not hold the array

slab.py's __kmem_cache_create calls these; its docstring says what OFF_SLAB
means for a growing slab (alloc_slabmgmt) and a destroyed one.
"""

from . import slab_common as sc
from .kmalloc import KMALLOC_NORMAL, kmalloc_index
from .slab_common import SLAB_RECLAIM_ACCOUNT

SLAB_OBJ_MAX_NUM = (1 << 16) - 1
IDX_SIZE = 2                     # sizeof(freelist_idx_t)
# The kernel's CFLGS_OFF_SLAB is 0x80000000, which the model already spends on
# __OBJECT_POISON (slab_common); the model's bit is one no model flag uses (the
# kernel's SLAB_SKIP_KFENCE, which the model does not have).
CFLGS_OFF_SLAB = 0x20000000


def OFF_SLAB(s):
    """The cache keeps its slabs' freelists off the slab (in kmalloc objects)."""
    return s.flags & CFLGS_OFF_SLAB


def cache_estimate(order, size, page_size, flags=0):
    """(num, left_over) of a 2**order-page slab: the index array counts against the
    slab only on-slab."""
    slab_size = page_size << order
    if flags & CFLGS_OFF_SLAB:
        return slab_size // size, slab_size % size
    num = slab_size // (size + IDX_SIZE)
    return num, slab_size % (size + IDX_SIZE)


def calculate_slab_order(size, flags, page_size, max_order, freelist_cache=None,
                         kmalloc_max_cache_size=0):
    """(num, order, left_over), 0 objects if no order fits.  With CFLGS_OFF_SLAB in
    ``flags``, ``freelist_cache(n)`` is kmalloc_slab(n): (its size, OFF_SLAB) or
    None while that kmalloc cache does not exist yet."""
    num = order = left = 0
    for gfporder in range(0, 11):
        n, rem = cache_estimate(gfporder, size, page_size, flags)
        if not n:
            continue
        if n > SLAB_OBJ_MAX_NUM:
            break
        if flags & CFLGS_OFF_SLAB:
            freelist_size = n * IDX_SIZE
            if freelist_size > kmalloc_max_cache_size:
                fc_size = page_size << sc.get_order(freelist_size, page_size.bit_length() - 1)
            else:
                fc = freelist_cache(freelist_size)
                if fc is None or fc[1]:        # not made yet / off-slab itself: a loop in grow
                    continue
                fc_size = fc[0]
            if fc_size > size // 2:            # check if off slab has enough benefit
                continue
        num, order, left = n, gfporder, rem
        if flags & SLAB_RECLAIM_ACCOUNT:
            break
        if gfporder >= max_order:
            break
        if left * 8 <= (page_size << gfporder):
            break
    return num, order, left


def set_off_slab_cache(size, flags, page_size, max_order, freelist_cache, kmalloc_max_cache_size):
    """(num, order, left) if the cache should keep its freelists off the slab, else None."""
    num, order, left = calculate_slab_order(size, flags | CFLGS_OFF_SLAB, page_size, max_order,
                                            freelist_cache, kmalloc_max_cache_size)
    if not num:
        return None
    if left >= num * IDX_SIZE:      # room on the slab after all: on-slab, less colouring
        return None
    return num, order, left


def _kmalloc_slab(st):
    """kmalloc_slab(size, 0) as calculate_slab_order asks it: (s->size, OFF_SLAB) or None."""
    def lookup(n):
        c = st.kmalloc_caches.get((KMALLOC_NORMAL, kmalloc_index(n)))
        return None if c is None else (c.size, bool(OFF_SLAB(c)))
    return lookup
