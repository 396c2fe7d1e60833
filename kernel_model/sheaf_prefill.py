"""Caller-owned prefilled sheaves of the sheaves allocator (Linux 6.18+, mm/slub.c).

A user that must allocate where it cannot fail or sleep -- the maple tree
under its lock -- first asks for a sheaf holding as many objects as it may
need, then takes them one by one, then gives the sheaf back::

    kmem_cache_prefill_sheaf(s, gfp, size)      a sheaf of >= size objects: this
                                                CPU's spare, a barn sheaf, or a
                                                new one, refilled (more than
                                                sheaf_capacity: an oversize one)
    kmem_cache_alloc_from_sheaf(s, gfp, sheaf)  objects[--size]; NULL once empty,
                                                never a fallback to the cache
    kmem_cache_refill_sheaf(s, gfp, sheaf, n)   top it up (or trade for a bigger one)
    kmem_cache_return_sheaf(s, gfp, sheaf)      back as this CPU's spare, refilled
                                                into the barn, or flushed and freed
    kmem_cache_sheaf_size(s, sheaf)

A handle is the sheaf id + 1 (the kernel's ``struct slab_sheaf *``).  The
sheaf lives in the cache's sheaf slots (sheaves.py has the byte layout); while
the caller holds it, its SH_INUSE mark is SHEAF_CALLER, which is how
check_sheaves tells a held sheaf from a lost one.  A held sheaf belongs to its
caller alone: no lock, no CPU's row points to it.  Differences from the
kernel: an oversize sheaf is at most SHEAF_MAX_CAPACITY objects (the kernel
kmallocs any size); no pfmemalloc tracking.
"""

from . import context, sheaves as sv, slab_common as sc


def _check_sheaf(s, sheaf, what):
    nr = s.nr_sheaves
    if not isinstance(sheaf, int) or not s.sheaf_first < sheaf <= s.sheaf_first + nr or \
            s.sh[(sheaf - 1) * sv.SHEAF_NF + sv.SH_INUSE] != sv.SHEAF_CALLER:
        raise ValueError(f"{what}({s.name}, {sheaf!r}): not a sheaf of this cache "
                         "(use the value kmem_cache_prefill_sheaf returned)")
    return sheaf - 1


def kmem_cache_prefill_sheaf(s, gfp, size):
    """A sheaf with at least ``size`` objects for the caller; its handle or None.

    More than the cache's sheaf_capacity makes an oversize sheaf (up to
    SHEAF_MAX_CAPACITY here), flushed and freed when it is returned.
    """
    if not size or not s.sheaf_capacity:
        return None
    if size > s.sheaf_capacity:
        if size > sv.SHEAF_MAX_CAPACITY:
            return None
        g = sv.__alloc_empty_sheaf(s, size)
        if g is None:
            return None
        sv.sheaf_stat(s, sv.SHEAF_PREFILL_OVERSIZE)
        objs = sv.refill_objects(s, gfp, size, size)
        if len(objs) < size:
            sv.__kmem_cache_free_bulk(s, objs)
            sv.free_empty_sheaf(s, g)
            return None
        sc.stat(s, sc.ALLOC_SLOWPATH, size)
        sv.sheaf_push(s, g, objs)
        s.sh[g * sv.SHEAF_NF + sv.SH_INUSE] = sv.SHEAF_CALLER
        return g + 1
    cid = context.this_cpu.id
    p = s.pcs_base + cid * sv.PCS_NF
    g = None
    flags = sv.pcs_lock(s, cid)
    spare = s.pcs[p + sv.PCS_SPARE]
    if spare:
        g = spare - 1
        s.pcs[p + sv.PCS_SPARE] = 0
        sv.sheaf_stat(s, sv.SHEAF_PREFILL_FAST)
    else:
        sv.sheaf_stat(s, sv.SHEAF_PREFILL_SLOW)
        g = sv.barn_get_full_or_empty_sheaf(s, s.cpu_barn[cid])
        sv.sheaf_stat(s, sv.BARN_GET if g is not None and sv.sheaf_size(s, g) else sv.BARN_GET_FAIL)
    sv.pcs_unlock(s, cid, flags)
    if g is None:
        g = sv.alloc_empty_sheaf(s)
    if g is None:
        return None
    s.sh[g * sv.SHEAF_NF + sv.SH_CAPACITY] = s.sheaf_capacity
    if sv.sheaf_size(s, g) < size and sv.refill_sheaf(s, g, gfp):
        sv.sheaf_flush_unused(s, g)
        sv.free_empty_sheaf(s, g)
        return None
    s.sh[g * sv.SHEAF_NF + sv.SH_INUSE] = sv.SHEAF_CALLER
    return g + 1


def kmem_cache_alloc_from_sheaf(s, gfp, sheaf):
    """An object of a prefilled sheaf (never fails while it has some); else None."""
    g = _check_sheaf(s, sheaf, "kmem_cache_alloc_from_sheaf")
    w = g * sv.SHEAF_NF
    size = s.sh[w + sv.SH_SIZE]
    if not size:
        return None
    obj = s.sh[w + sv.SH_OBJECTS + size - 1]
    s.sh[w + sv.SH_SIZE] = size - 1
    return sv.slab_post_alloc_hook(s, gfp, obj, None, s.object_size)


def kmem_cache_sheaf_size(s, sheaf):
    return sv.sheaf_size(s, _check_sheaf(s, sheaf, "kmem_cache_sheaf_size"))


def kmem_cache_refill_sheaf(s, gfp, sheaf, size):
    """Refill a prefilled sheaf to at least ``size``; returns (0, sheaf) or
    (sv.ENOMEM, sheaf) -- a larger oversize sheaf may replace it (the kernel's
    ``struct slab_sheaf **``)."""
    g = _check_sheaf(s, sheaf, "kmem_cache_refill_sheaf")
    w = g * sv.SHEAF_NF
    if s.sh[w + sv.SH_SIZE] >= size:
        return 0, sheaf
    cap = s.sh[w + sv.SH_CAPACITY]
    if cap >= size:
        if cap == s.sheaf_capacity:
            return sv.refill_sheaf(s, g, gfp), sheaf
        objs = sv.refill_objects(s, gfp, cap - s.sh[w + sv.SH_SIZE], cap - s.sh[w + sv.SH_SIZE])
        if len(objs) < cap - s.sh[w + sv.SH_SIZE]:
            sv.__kmem_cache_free_bulk(s, objs)
            return sv.ENOMEM, sheaf
        sv.sheaf_push(s, g, objs)
        return 0, sheaf
    new = kmem_cache_prefill_sheaf(s, gfp, size)
    if new is None:
        return sv.ENOMEM, sheaf
    kmem_cache_return_sheaf(s, gfp, sheaf)
    return 0, new


def kmem_cache_return_sheaf(s, gfp, sheaf):
    """Give a prefilled sheaf back: as this CPU's spare, refilled into the barn,
    or flushed and freed."""
    g = _check_sheaf(s, sheaf, "kmem_cache_return_sheaf")
    w = g * sv.SHEAF_NF
    s.sh[w + sv.SH_INUSE] = sv.SHEAF_KERNEL                # the allocator's again
    if s.sh[w + sv.SH_CAPACITY] != s.sheaf_capacity:
        sv.sheaf_flush_unused(s, g)
        sv.free_empty_sheaf(s, g)
        return
    cid = context.this_cpu.id
    p = s.pcs_base + cid * sv.PCS_NF
    flags = sv.pcs_lock(s, cid)
    if not s.pcs[p + sv.PCS_SPARE]:
        s.pcs[p + sv.PCS_SPARE] = g + 1
        g = None
        sv.sheaf_stat(s, sv.SHEAF_RETURN_FAST)
    sv.pcs_unlock(s, cid, flags)
    if g is None:
        return
    sv.sheaf_stat(s, sv.SHEAF_RETURN_SLOW)
    barn = sv.get_barn(s)
    if s.barn[barn.base + sv.BARN_NR_FULL] >= sv.MAX_FULL_SHEAVES or sv.refill_sheaf(s, g, gfp):
        sv.sheaf_flush_unused(s, g)
        sv.free_empty_sheaf(s, g)
        return
    sv.barn_put_full_sheaf(s, barn, g)
    sv.sheaf_stat(s, sv.BARN_PUT)
