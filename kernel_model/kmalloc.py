"""kmalloc, kzalloc, kfree, ksize, krealloc (mm/slab_common.c, include/linux/slab.h, 6.12).

Size classes kmalloc-8 ... kmalloc-8k (KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1,
so kmalloc-16k with 8 KiB pages) plus kmalloc-96 and kmalloc-192, made at
boot in two types: KMALLOC_NORMAL and KMALLOC_DMA (``dma-kmalloc-N``, for
__GFP_DMA).  __GFP_RECLAIMABLE and __GFP_ACCOUNT would pick kmalloc-rcl-N /
kmalloc-cg-N in the kernel; the model serves them from the normal caches.
Larger requests go to the page allocator (__kmalloc_large_node): a
compound page whose head page carries LARGE_KMALLOC in page_private, so
kfree and ksize know it.  kmalloc(0) returns ZERO_SIZE_PTR (16), which kfree
accepts, as it accepts None.

KASAN points, as 6.12 has them: ksize() and krealloc() first check one byte
of the object (kasan_check_byte: a freed object is reported through
``debug.hooks.memory_access`` and gives 0 / NULL); ksize() only reports the
usable size, it does not make the bytes past the requested size accessible
(6.2 made it reporting-only: grow with krealloc); a large kmalloc tells the
hooks its requested size (slab_alloc with cache None), so bytes past it are
out of bounds though the pages are mapped.

No arena sections of its own: the caches are ordinary kmem_caches.
"""

from . import debug, page_alloc, pgdat as pgdat_mod, slab_debug
from . import slab_common as sc
from .gfp import (__GFP_COMP, __GFP_DIRECT_RECLAIM, __GFP_DMA, __GFP_ZERO, GFP_SLAB_BUG_MASK)

ZERO_SIZE_PTR = 16
LARGE_KMALLOC = 0x6B6D616C6C6F63     # "kmalloc" in page_private of a large kmalloc head
KMALLOC_NORMAL, KMALLOC_DMA = 0, 1
KMALLOC_MIN_SIZE = 8
KMALLOC_SHIFT_LOW = 3


def kmalloc_index(size):
    """include/linux/slab.h __kmalloc_index()."""
    if not size:
        return 0
    if size <= KMALLOC_MIN_SIZE:
        return KMALLOC_SHIFT_LOW
    if 64 < size <= 96:
        return 1
    if 128 < size <= 192:
        return 2
    return (size - 1).bit_length()


def kmalloc_size(index):
    return {1: 96, 2: 192}.get(index, 1 << index)


# mm/slab_common.c kmalloc_size_index[]: the index of sizes up to 192, by
# size_index_elem(size) = (size - 1) / 8 (kmalloc-96 and kmalloc-192 in between
# the powers of two); larger sizes are fls(size - 1).
kmalloc_size_index = tuple(kmalloc_index(8 * (i + 1)) for i in range(24))


def kmalloc_type(gfp):
    return KMALLOC_DMA if gfp & __GFP_DMA else KMALLOC_NORMAL


def create_kmalloc_caches(state):
    """Boot: every size class, normal and DMA (the kernel's create_kmalloc_caches)."""
    node = state.pgdat
    high = node.page_shift + 1
    state.kmalloc_max_cache = 1 << high        # KMALLOC_MAX_CACHE_SIZE (SLAB's off-slab sizing reads it)
    # kmalloc_caches[type][index] of the kernel (one kmem_buckets per type); the
    # (type, index) dict state.kmalloc_caches names the same caches
    state.kmalloc_buckets = [[None] * (high + 1) for _ in (KMALLOC_NORMAL, KMALLOC_DMA)]
    for typ, prefix, extra in ((KMALLOC_NORMAL, "kmalloc-", 0), (KMALLOC_DMA, "dma-kmalloc-",
                                                                  sc.SLAB_CACHE_DMA)):
        for idx in [KMALLOC_SHIFT_LOW, 1, 2] + list(range(KMALLOC_SHIFT_LOW + 1, high + 1)):
            if idx in (1, 2) and idx + 5 < KMALLOC_SHIFT_LOW:
                continue
            size = kmalloc_size(idx)
            label = f"{size // 1024}k" if size >= 1024 else str(size)
            # create_boot_cache: kmalloc objects are aligned to the largest
            # power-of-two divisor of their size (natural alignment since 5.4).
            s = sc.kmem_cache_create(prefix + label, size, size & -size,
                                     sc.SLAB_KMALLOC | extra, pgdat=node)
            state.kmalloc_caches[(typ, idx)] = s
            state.kmalloc_buckets[typ][idx] = s


def kmalloc_slab(state, size, gfp):
    """mm/slab.h kmalloc_slab(): the kmalloc cache of ``size`` (1..KMALLOC_MAX_CACHE_SIZE)."""
    index = kmalloc_size_index[(size - 1) >> 3] if size <= 192 else (size - 1).bit_length()
    return state.kmalloc_buckets[kmalloc_type(gfp)][index]


def __kmalloc_large_node(state, size, gfp, nid=-1):
    if gfp & GFP_SLAB_BUG_MASK:
        gfp = sc.kmalloc_fix_flags(gfp)
    node = state.pgdat
    order = sc.get_order(size, node.page_shift)
    pfn = page_alloc.__alloc_pages(node, gfp | __GFP_COMP, order, nid)
    if pfn is None:
        return None
    node.mem_map.private[pfn] = LARGE_KMALLOC
    addr = node.pfn_to_virt(pfn)
    debug.hooks.slab_alloc(None, addr, size, gfp)
    return addr


def kmalloc(size, gfp):
    """Allocate ``size`` bytes; the address, ZERO_SIZE_PTR for 0, None on failure.

    __do_kmalloc_node: the fast path of every allocator starts here, so
    kmalloc_slab() and kmalloc_type() are inlined (static inlines in the kernel), and
    so is slab_state() for this process's node (it raises the clear error)."""
    node = pgdat_mod._current
    st = node.slab if node is not None else None
    if st is None:
        st = sc.slab_state()
    if size > st.kmalloc_max_cache:
        return __kmalloc_large_node(st, size, gfp)
    if not size:
        return ZERO_SIZE_PTR
    s = st.kmalloc_buckets[KMALLOC_DMA if gfp & __GFP_DMA else KMALLOC_NORMAL][
        kmalloc_size_index[(size - 1) >> 3] if size <= 192 else (size - 1).bit_length()]
    return st.slab_alloc_node(s, gfp, size) or None


def kzalloc(size, gfp):
    return kmalloc(size, gfp | __GFP_ZERO)


def kcalloc(n, size, gfp):
    return kzalloc(n * size, gfp)


def kmalloc_node(size, gfp, node=-1):
    """kmalloc from NUMA node ``node`` (-1, NUMA_NO_NODE: no preference -- the CPU
    slab whatever its node, partial and new slabs of this CPU's node first);
    with __GFP_THISNODE only from that node (slab_common.slab_alloc_node)."""
    st = sc.slab_state()
    sc.check_node(st.pgdat, node, "kmalloc_node")
    if size > st.kmalloc_max_cache:
        addr = __kmalloc_large_node(st, size, gfp, node)
    elif not size:
        return ZERO_SIZE_PTR
    else:
        addr = sc.slab_alloc_node(kmalloc_slab(st, size, gfp), gfp, size, node) or None
    return sc.node_alloc_done("kmalloc_node", st.pgdat, node, addr)


def _large_head(node, addr):
    pfn = node.virt_to_pfn(addr)
    if pfn is None or addr & (node.page_size - 1):
        return None
    mm = node.mem_map
    if mm.private[pfn] != LARGE_KMALLOC or mm.ref[pfn] <= 0:
        return None
    return pfn


def kfree(addr):
    """Free what kmalloc returned; None and ZERO_SIZE_PTR are no-ops."""
    if addr is None or addr <= ZERO_SIZE_PTR:
        return
    node = pgdat_mod._current                          # slab_state(), inlined as in kmalloc
    st = node.slab if node is not None else None
    if st is None:
        st = sc.slab_state()
    node = st.pgdat
    head = sc.virt_to_slab(node, addr)
    if head is not None:
        cid = node.mem_map.slab_cache[head] - 1         # slab->slab_cache
        sc.slab_free(st.caches[cid] or st.cache_by_id(cid), head, addr)
        return
    hooks = debug.hooks
    hooks.slab_free(None, addr)
    pfn = _large_head(node, addr)
    if pfn is None:
        hooks.invalid_free(None, addr, f"kfree({addr:#x}): not a slab object nor a large "
                           "kmalloc (outside of slab)")
        return
    node.mem_map.private[pfn] = 0
    page_alloc.__free_pages(node, pfn, node.mem_map.order[pfn])


def _live(st, s, head, addr):
    """False if the debug data says the object at ``addr`` is not allocated
    (kasan_check_byte's answer; True without debug data)."""
    if not s.debug:
        return True
    idx = slab_debug.obj_index(s, head, addr)
    return idx is None or st.obj_state[head * st.rows_per_page + idx] == slab_debug.OBJ_ALLOCATED


def ksize(addr):
    """Usable size of a kmalloc'ed object (the cache's object_size); 0 for a
    freed one, which KASAN reports (kasan_check_byte)."""
    if addr is None or addr <= ZERO_SIZE_PTR:
        return 0
    st = sc.slab_state()
    node = st.pgdat
    debug.hooks.memory_access(addr, 1, False)          # kasan_check_byte(objp)
    head = sc.virt_to_slab(node, addr)
    if head is not None:
        s = sc.cache_by_id(st, node.mem_map.slab_cache[head] - 1)
        return s.object_size if _live(st, s, head, addr) else 0
    pfn = _large_head(node, addr)
    return 0 if pfn is None else node.page_size << node.mem_map.order[pfn]


def kfree_sensitive(addr):
    """Zero the whole object (ksize bytes), then kfree it (mm/slab_common.c)."""
    ks = ksize(addr)
    if ks:
        node = sc.slab_state().pgdat
        off = addr - node.page_offset
        node.data[off:off + ks] = bytes(ks)
    kfree(addr)


kzfree = kfree_sensitive          # the name before 5.9


def krealloc(addr, new_size, gfp):
    """Grow or shrink (__do_krealloc, 6.12): keeps the object when it already fits,
    zeroing the spare bytes for __GFP_ZERO and re-arming the kmalloc redzone
    past ``new_size``; otherwise copies the old requested size into a new one."""
    if addr is None or addr <= ZERO_SIZE_PTR:
        return kmalloc(new_size, gfp)
    if not new_size:
        kfree(addr)
        return ZERO_SIZE_PTR
    ks = ksize(addr)
    if not ks:
        return None                          # kasan_check_byte failed: reported, NULL
    st = sc.slab_state()
    node = st.pgdat
    head = sc.virt_to_slab(node, addr)
    s = sc.cache_by_id(st, node.mem_map.slab_cache[head] - 1) if head is not None else None
    row = None
    orig_size = 0
    if s is not None and s.debug:
        row = head * st.rows_per_page + slab_debug.obj_index(s, head, addr)
        orig_size = st.orig_size[row] if s.kmalloc else 0
    if new_size <= ks:
        if gfp & __GFP_ZERO:                 # want_init_on_alloc: zero the spare memory
            a = addr - node.page_offset
            if orig_size and orig_size < new_size:
                node.data[a + orig_size:a + new_size] = bytes(new_size - orig_size)
            else:
                node.data[a + new_size:a + ks] = bytes(ks - new_size)
        if row is not None:                  # the object's requested size changes
            st.orig_size[row] = new_size
            slab_debug.init_object(s, addr, True, new_size if s.kmalloc else None)
        elif s is None:                      # large kmalloc: KASAN re-poisons past new_size
            debug.hooks.slab_alloc(None, addr, new_size, gfp)
        return addr
    new = kmalloc(new_size, gfp)
    if new is None:
        return None
    n = orig_size or ks
    a, b = addr - node.page_offset, new - node.page_offset
    node.data[b:b + n] = node.data[a:a + n]
    kfree(addr)
    return new
