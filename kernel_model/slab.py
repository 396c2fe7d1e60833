"""The classic SLAB allocator (mm/slab.c as of Linux 6.7, its last release).

Per cache and node, three lists of slabs: slabs_full, slabs_partial and
slabs_free.  Each CPU has an array_cache, a LIFO stack of object pointers:

    slab_alloc_node   irqs off: ac->avail ? entry[--avail]           (alloc hit)
                      : cache_alloc_refill: under list_lock move up to
                      batchcount objects from partial, then free slabs,
                      growing the cache (cache_grow) when both are empty
    do_slab_free      irqs off: avail < limit ? entry[avail++] = obj
                      : cache_flusharray: free_block(batchcount) under
                      list_lock, then push

A slab is one block of 2**gfporder pages: ``colour`` bytes of offset
(cache colouring: colour_next * colour_off, cycling per node), ``num``
objects, and the freelist: a u16 freelist_idx_t array of free object
indices (get_free_obj(slab, active) is the next to hand out).  Where the
freelist lives is chosen once per cache, as __kmem_cache_create does:

    OFF_SLAB   set_off_slab_cache: sized without the index array
               (cache_estimate with CFLGS_OFF_SLAB), accepted only where a
               kmalloc cache that is not itself off-slab holds the array in
               at most half an object (calculate_slab_order), and kept only
               if the left-over space could not hold the array anyway
               (left < num * sizeof(freelist_idx_t)).  alloc_slabmgmt takes
               the array from kmalloc_node(freelist_size) when a slab grows;
               slab_destroy kfree()s it after giving the pages back.
    on-slab    set_on_slab_cache: the array in the last freelist_size bytes
               of the slab.

Not modelled: OBJFREELIST management (set_objfreelist_slab_cache, tried
first by the kernel for caches without a ctor, SLAB_TYPESAFE_BY_RCU or
init_on_free; it sizes slabs exactly as OFF_SLAB does but keeps the array
in a free object), shared and alien array caches, the reaper; the index is
u16 even where the kernel packs u8.  Debug red zones and poison
use the SLUB byte values (0xbb/0xcc, 0x6b/0xa5) so the checkers have one
vocabulary; the classic SLAB wrote 64-bit red-zone words.

struct slab in struct page (page.py): slab_cache, slab_freelist = address
of the index array (inside the slab, or a kmalloc object for OFF_SLAB),
slab_counters = active | num << 16, page_private of the head page = the
colour offset in bytes.  Node scalars and lists are in
slab_common's kmem_cache_node / kmem_cache_lhead sections.

Arena section (C = MAX_CACHES, N = nr_cpus)::

    array_cache  u64[C * N * AC_NF]  [(cache * N + cpu) * AC_NF + ...]:
                                     0 avail, 1 limit, 2 batchcount, 3 touched,
                                     4.. entry[AC_MAX] object addresses

Lock order: slab_mutex -> node->list_lock; the array cache is protected by
disabling interrupts on its own CPU (it is never touched by another CPU
while that CPU runs).
"""

from . import context, debug, page_alloc, slab_debug, spinlock
from .kmalloc import KMALLOC_NORMAL, kfree, kmalloc_index, kmalloc_node
from .context import local_irq_restore, local_irq_save
from .gfp import (__GFP_DIRECT_RECLAIM, __GFP_NO_GROW,
                  __GFP_ZERO, GFP_RECLAIM_MASK, GFP_SLAB_BUG_MASK)
from .list import list_add, list_del
from .page import NIL, PGTY_NONE, PGTY_slab
from . import slab_common as sc
from .slab_common import (ALIGN, KC_ALIGN, KC_ALLOCFLAGS, KC_BATCH, KC_COLOUR, KC_COLOUR_OFF,
                          KC_FLAGS, KC_FREELIST_SIZE, KC_INUSE, KC_LIMIT, KC_NF, KC_OBJECT_SIZE,
                          KC_OBJECTS, KC_ORDER, KC_RED_LEFT_PAD, KC_SIZE, KN_COLOUR_NEXT,
                          KN_FREE_OBJECTS, KN_NR_FREE, KN_NR_SLABS, KN_TOTAL_OBJECTS, LIST_FREE,
                          LIST_FULL, LIST_PARTIAL, NR_STAT, OBJECT_POISON, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE,
                          SLAB_STORE_USER, ALLOC_FASTPATH, FREE_FASTPATH)
from .slab_debug import POISON_INUSE
from .slab_h import slab_counters, slab_inuse, slab_objects, virt_to_slab

AC_MAX = 120
AC_NF = 4 + AC_MAX
AC_AVAIL, AC_LIMIT, AC_BATCH, AC_TOUCHED, AC_ENTRY = 0, 1, 2, 3, 4
SLAB_OBJ_MAX_NUM = (1 << 16) - 1
IDX_SIZE = 2                     # sizeof(freelist_idx_t)
# The kernel's CFLGS_OFF_SLAB is 0x80000000, which the model already spends on
# __OBJECT_POISON (slab_common); the model's bit is one no model flag uses (the
# kernel's SLAB_SKIP_KFENCE, which the model does not have).
CFLGS_OFF_SLAB = 0x20000000
name = "slab"


def arena_sections(nr_cpus):
    return [("array_cache", "Q", sc.MAX_CACHES * nr_cpus * AC_NF)]


def init(state):
    state.acv = state.pgdat.arena.v["array_cache"]
    state.data_h = state.pgdat.data.cast("H")
    state.extra_views = [state.data_h]


def bind_cache(s):
    st = s.state
    s.acv = st.acv
    s.ac_base = s.id * st.pgdat.nr_cpus * AC_NF
    s.statv = st.stat
    s.mm = st.pgdat.mem_map
    s.data_h = st.data_h
    s.free_limit = (1 + st.pgdat.nr_cpus) * s.batchcount + s.objects
    s.off_slab = bool(OFF_SLAB(s))


def slab_base(s, head):
    return s.mm.private[head]


def _stat(s, item, n=1):
    # sc.stat_slot(s, cpu, item), inlined: the slow paths count often
    s.statv[s.stat_base + context.this_cpu.id * NR_STAT + item] += n


# -- sizes: cache_estimate / calculate_slab_order / set_*_slab_cache -------------------
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


def __kmem_cache_create(st, cid, ctor):
    kc = st.kc
    b = cid * KC_NF
    node = st.pgdat
    object_size, align, flags = kc[b + KC_OBJECT_SIZE], kc[b + KC_ALIGN], kc[b + KC_FLAGS]
    if flags & SLAB_POISON and ctor is None:
        flags |= OBJECT_POISON
    size = ALIGN(object_size, 8)
    red_left = 0
    if flags & SLAB_RED_ZONE:
        red_left = ALIGN(8, align)
        size += 8
    inuse = size
    size += red_left
    if flags & SLAB_STORE_USER:
        size = max(size + 16, slab_debug.DEBUG_MIN_OBJECT)
    size = ALIGN(size, align)
    max_order = 1 if node.nr_pages > (32 << 20) >> node.page_shift else 0
    off = set_off_slab_cache(size, flags, node.page_size, max_order, _kmalloc_slab(st),
                             st.kmalloc_max_cache)
    if off is not None:
        flags |= CFLGS_OFF_SLAB
        num, order, left = off
    else:
        num, order, left = calculate_slab_order(size, flags, node.page_size, max_order)
    if not num:
        return False
    colour_off = max(sc.CACHE_LINE_SIZE, align)   # offset must be a multiple of the alignment
    kc[b + KC_SIZE], kc[b + KC_INUSE], kc[b + KC_RED_LEFT_PAD] = size, inuse, red_left
    kc[b + KC_ORDER], kc[b + KC_OBJECTS], kc[b + KC_FLAGS] = order, num, flags
    kc[b + KC_COLOUR_OFF] = colour_off
    kc[b + KC_COLOUR] = left // colour_off
    kc[b + KC_FREELIST_SIZE] = num * IDX_SIZE
    kc[b + KC_ALLOCFLAGS] = sc.cache_allocflags(flags)
    if size > 131072:
        limit = 1
    elif size > node.page_size:
        limit = 8
    elif size > 1024:
        limit = 24
    elif size > 256:
        limit = 54
    else:
        limit = 120
    kc[b + KC_LIMIT], kc[b + KC_BATCH] = limit, (limit + 1) // 2
    n = node.nr_cpus
    acv = st.acv
    for cpu in range(n):
        a = (cid * n + cpu) * AC_NF
        acv[a + AC_AVAIL], acv[a + AC_LIMIT] = 0, limit
        acv[a + AC_BATCH], acv[a + AC_TOUCHED] = (limit + 1) // 2, 0
    return True


# -- slabs ----------------------------------------------------------------------------
def _lists(s, lid):
    st = s.state
    return st.lhead, st.ltail, s.lbase + lid


def _move(s, pfn, frm, to):
    mm = s.mm
    if frm is not None:
        h, t, l = _lists(s, frm)
        list_del(mm.next, mm.prev, h, t, l, pfn)
    h, t, l = _lists(s, to)
    list_add(mm.next, mm.prev, h, t, l, pfn)


def _which_list(s, pfn):
    active = slab_inuse(s.mm.slab_counters[pfn])
    return LIST_FREE if not active else LIST_FULL if active == s.objects else LIST_PARTIAL


def cache_grow(s, gfp):
    """cache_grow_begin + cache_grow_end: a new slab on slabs_free (list_lock not held)."""
    if gfp & GFP_SLAB_BUG_MASK:
        gfp = sc.kmalloc_fix_flags(gfp)
    if gfp & __GFP_NO_GROW:
        return None
    node = s.pgdat
    local_flags = gfp & GFP_RECLAIM_MASK
    pfn = page_alloc.__alloc_pages(node, local_flags | s.allocflags, s.order)
    if pfn is None:
        return None
    start = s.page_offset + (pfn << s.page_shift)
    if s.off_slab:                            # alloc_slabmgmt: the index array from kmalloc
        freelist = kmalloc_node(s.freelist_size, local_flags)
        if freelist is None:
            page_alloc.__free_pages(node, pfn, s.order)       # opps1
            return None
    else:                                     # the last freelist_size bytes of the slab
        freelist = start + s.slab_bytes - s.freelist_size
    mm = s.mm
    st = s.state
    nb = s.node_base
    flags = spinlock.spin_lock_irqsave(s.list_lock)
    colour_next = st.node[nb + KN_COLOUR_NEXT]
    st.node[nb + KN_COLOUR_NEXT] = 0 if colour_next + 1 >= s.colour else colour_next + 1
    spinlock.spin_unlock_irqrestore(s.list_lock, flags)
    offset = colour_next * s.colour_off
    mm.type[pfn] = PGTY_slab
    mm.order[pfn] = s.order
    for p in range(pfn, pfn + (1 << s.order)):
        mm.slab_cache[p] = s.cache_ref
        if p != pfn:
            mm.prev[p] = pfn
    mm.private[pfn] = offset
    first = start + offset + s.red_left_pad
    if s.debug:
        pad_end = start + s.slab_bytes - (0 if s.off_slab else s.freelist_size)
        slab_debug.fill_bytes(s, start + offset + s.objects * s.size,
                 pad_end - (start + offset + s.objects * s.size), POISON_INUSE)
    dh = s.data_h
    fi = (freelist - s.page_offset) >> 1
    for i in range(s.objects):
        obj = first + i * s.size
        if s.debug:
            slab_debug.setup_object_debug(s, pfn, obj, i)
        if s.ctor is not None:
            slab_debug.run_ctor(s.ctor, obj)
        dh[fi + i] = i
    mm.slab_freelist[pfn] = freelist
    mm.slab_counters[pfn] = slab_counters(0, s.objects)
    flags = spinlock.spin_lock_irqsave(s.list_lock)
    _move(s, pfn, None, LIST_FREE)
    st.node[nb + KN_NR_SLABS] += 1
    st.node[nb + KN_NR_FREE] += 1
    st.node[nb + KN_TOTAL_OBJECTS] += s.objects
    st.node[nb + KN_FREE_OBJECTS] += s.objects
    spinlock.spin_unlock_irqrestore(s.list_lock, flags)
    _stat(s, sc.ALLOC_SLAB)
    return pfn


def slab_destroy(s, pfn):
    """Give a slab that is already off the lists back to the page allocator, then
    (OFF_SLAB) kfree its index array."""
    mm = s.mm
    order = mm.order[pfn]
    freelist = mm.slab_freelist[pfn]
    for p in range(pfn, pfn + (1 << order)):
        mm.slab_cache[p] = 0
        if p != pfn:
            mm.prev[p] = NIL
    mm.type[pfn] = PGTY_NONE
    mm.slab_freelist[pfn] = 0
    mm.slab_counters[pfn] = 0
    mm.private[pfn] = 0
    _stat(s, sc.FREE_SLAB)
    debug.hooks.slab_event("free_slab", cache=s.name, pfn=pfn, order=order)
    page_alloc.__free_pages(s.pgdat, pfn, order)
    if s.off_slab:
        kfree(freelist)


def _get_obj(s, pfn):
    """slab_get_obj: the next free object; list_lock held."""
    mm = s.mm
    co = mm.slab_counters[pfn]
    active = slab_inuse(co)
    idx = s.data_h[((mm.slab_freelist[pfn] - s.page_offset) >> 1) + active]
    mm.slab_counters[pfn] = slab_counters(active + 1, slab_objects(co))
    return s.page_offset + (pfn << s.page_shift) + mm.private[pfn] + s.red_left_pad + idx * s.size


def _put_obj(s, pfn, obj):
    mm = s.mm
    co = mm.slab_counters[pfn]
    active = slab_inuse(co) - 1
    idx = (obj - s.page_offset - (pfn << s.page_shift) - mm.private[pfn] - s.red_left_pad) // s.size
    s.data_h[((mm.slab_freelist[pfn] - s.page_offset) >> 1) + active] = idx
    mm.slab_counters[pfn] = slab_counters(active, slab_objects(co))


def cache_alloc_refill(s, gfp, a, irqflags):
    """Refill this CPU's array cache; irqs off.  Returns an object or 0."""
    acv = s.acv
    st = s.state
    nb = s.node_base
    _stat(s, sc.ALLOC_SLOWPATH)
    while True:
        batch = acv[a + AC_BATCH]
        flags = spinlock.spin_lock_irqsave(s.list_lock)
        while batch > 0:
            pfn = st.lhead[s.lbase + LIST_PARTIAL]
            lid = LIST_PARTIAL
            if pfn == NIL:
                pfn = st.lhead[s.lbase + LIST_FREE]
                lid = LIST_FREE
                if pfn == NIL:
                    break
                st.node[nb + KN_NR_FREE] -= 1
            _stat(s, sc.ALLOC_FROM_PARTIAL)
            while batch > 0 and slab_inuse(s.mm.slab_counters[pfn]) < s.objects:
                avail = acv[a + AC_AVAIL]
                acv[a + AC_ENTRY + avail] = _get_obj(s, pfn)
                acv[a + AC_AVAIL] = avail + 1
                st.node[nb + KN_FREE_OBJECTS] -= 1
                batch -= 1
            _move(s, pfn, lid, _which_list(s, pfn))
        spinlock.spin_unlock_irqrestore(s.list_lock, flags)
        avail = acv[a + AC_AVAIL]
        if avail:
            _stat(s, sc.ALLOC_REFILL)
            acv[a + AC_TOUCHED] = 1
            acv[a + AC_AVAIL] = avail - 1
            return acv[a + AC_ENTRY + avail - 1]
        local_irq_restore(irqflags)               # cache_grow may sleep
        try:
            pfn = cache_grow(s, gfp)
        finally:
            local_irq_save()
        if pfn is None:
            return 0


def free_block(s, objs):
    """Give objects back to their slabs; list_lock held.  Returns slabs to destroy."""
    st = s.state
    nb = s.node_base
    mm = s.mm
    destroy = []
    node = s.pgdat
    for obj in objs:
        pfn = virt_to_slab(node, obj)
        lid = _which_list(s, pfn)
        _put_obj(s, pfn, obj)
        st.node[nb + KN_FREE_OBJECTS] += 1
        new = _which_list(s, pfn)
        if new == LIST_FREE:
            if st.node[nb + KN_FREE_OBJECTS] > s.free_limit:
                h, t, l = _lists(s, lid)
                list_del(mm.next, mm.prev, h, t, l, pfn)
                st.node[nb + KN_FREE_OBJECTS] -= s.objects
                st.node[nb + KN_NR_SLABS] -= 1
                st.node[nb + KN_TOTAL_OBJECTS] -= s.objects
                destroy.append(pfn)
                continue
            st.node[nb + KN_NR_FREE] += 1
        if new != lid:
            _move(s, pfn, lid, new)
    return destroy


def cache_flusharray(s, a, count=None):
    acv = s.acv
    avail = acv[a + AC_AVAIL]
    n = min(avail, acv[a + AC_BATCH] if count is None else count)
    objs = [acv[a + AC_ENTRY + i] for i in range(n)]
    flags = spinlock.spin_lock_irqsave(s.list_lock)
    destroy = free_block(s, objs)
    spinlock.spin_unlock_irqrestore(s.list_lock, flags)
    for i in range(n, avail):
        acv[a + AC_ENTRY + i - n] = acv[a + AC_ENTRY + i]
    acv[a + AC_AVAIL] = avail - n
    for pfn in destroy:
        slab_destroy(s, pfn)


# -- entry points --------------------------------------------------------------------
def slab_alloc_node(s, gfp, orig_size):
    cpu = context.this_cpu
    hooks = debug.hooks
    if gfp & __GFP_DIRECT_RECLAIM:
        hooks.might_sleep("mm/slab.c:slab_alloc_node", gfp)
    if hooks.should_failslab(s.name, gfp):
        return 0
    acv = s.acv
    a = s.ac_base + cpu.id * AC_NF
    flags = local_irq_save()
    hooks.percpu_enter("slab_alloc_node", cpu.id, "irq")
    avail = acv[a + AC_AVAIL]
    if avail:
        acv[a + AC_TOUCHED] = 1
        acv[a + AC_AVAIL] = avail - 1
        obj = acv[a + AC_ENTRY + avail - 1]
        hooks.percpu_exit("slab_alloc_node", cpu.id)
        s.statv[s.stat_base + cpu.id * NR_STAT + ALLOC_FASTPATH] += 1      # allochit
    else:
        hooks.percpu_exit("slab_alloc_node", cpu.id)
        obj = cache_alloc_refill(s, gfp, a, flags)
    local_irq_restore(flags)
    if not obj:
        return 0
    if s.debug:
        slab_debug.slab_post_alloc_debug(s, virt_to_slab(s.pgdat, obj), obj, orig_size)
    if gfp & __GFP_ZERO:
        n = orig_size if s.debug and s.redzone and s.kmalloc else s.object_size
        off = obj - s.page_offset
        s.pgdat.data[off:off + n] = bytes(n)
    hooks.slab_alloc(s.name, obj, orig_size, gfp)
    return obj


def do_slab_free(s, head, obj):
    """___cache_free: onto this CPU's array cache; flush a batch when it is full."""
    cpu = context.this_cpu
    hooks = debug.hooks
    acv = s.acv
    a = s.ac_base + cpu.id * AC_NF
    flags = local_irq_save()
    avail = acv[a + AC_AVAIL]
    if avail >= acv[a + AC_LIMIT]:
        _stat(s, sc.FREE_SLOWPATH)
        cache_flusharray(s, a)
        avail = acv[a + AC_AVAIL]
    else:
        s.statv[s.stat_base + cpu.id * NR_STAT + FREE_FASTPATH] += 1       # freehit
    hooks.percpu_enter("do_slab_free", cpu.id, "irq")
    acv[a + AC_ENTRY + avail] = obj
    acv[a + AC_AVAIL] = avail + 1
    hooks.percpu_exit("do_slab_free", cpu.id)
    local_irq_restore(flags)


def drain_cpu_cache(s, cpu):
    """Empty one CPU's array cache (its own CPU, or any CPU while that one is idle)."""
    a = s.ac_base + cpu * AC_NF
    flags = local_irq_save()
    while s.acv[a + AC_AVAIL]:
        cache_flusharray(s, a, s.acv[a + AC_AVAIL])
    local_irq_restore(flags)


def _drain_freelist(s):
    st = s.state
    nb = s.node_base
    mm = s.mm
    freed = []
    flags = spinlock.spin_lock_irqsave(s.list_lock)
    while True:
        pfn = st.lhead[s.lbase + LIST_FREE]
        if pfn == NIL:
            break
        h, t, l = _lists(s, LIST_FREE)
        list_del(mm.next, mm.prev, h, t, l, pfn)
        st.node[nb + KN_NR_FREE] -= 1
        st.node[nb + KN_NR_SLABS] -= 1
        st.node[nb + KN_TOTAL_OBJECTS] -= s.objects
        st.node[nb + KN_FREE_OBJECTS] -= s.objects
        freed.append(pfn)
    spinlock.spin_unlock_irqrestore(s.list_lock, flags)
    for pfn in freed:
        slab_destroy(s, pfn)
    return len(freed) << s.order


def __kmem_cache_shrink(s):
    drain_cpu_cache(s, context.this_cpu.id)
    return _drain_freelist(s)


def flush_all(s):
    """drain_cpu_caches: every CPU's array cache back to the slabs (CPUs idle)."""
    for cpu in range(s.pgdat.nr_cpus):
        drain_cpu_cache(s, cpu)


def __kmem_cache_shutdown(s):
    flush_all(s)
    _drain_freelist(s)
    n = s.state.node
    return n[s.node_base + KN_TOTAL_OBJECTS] - n[s.node_base + KN_FREE_OBJECTS]


def slabinfo_counts(s):
    """(active_objs, num_objs, active_slabs, num_slabs), as mm/slab.c get_slabinfo."""
    n = s.state.node
    nb = s.node_base
    total_slabs = n[nb + KN_NR_SLABS]
    num_objs = total_slabs * s.objects
    return (num_objs - n[nb + KN_FREE_OBJECTS], num_objs,
            total_slabs - n[nb + KN_NR_FREE], total_slabs)


def slabinfo_tunables(s):
    """The array cache's limit and batchcount; no shared array cache (0)."""
    return s.limit, s.batchcount, 0


def free_objects_of_slab(s, head):
    """The slab's free indices plus every CPU's array cache entries in it, while
    CPUs are idle.  Returns (set of addresses, problems)."""
    node = s.pgdat
    mm = node.mem_map
    problems = []
    free = set()
    start = node.page_offset + (head << node.page_shift)
    end = start + (node.page_size << mm.order[head])
    co = mm.slab_counters[head]
    objects = slab_objects(co)
    fi = (mm.slab_freelist[head] - node.page_offset) >> 1
    base = start + mm.private[head] + s.red_left_pad
    for k in range(slab_inuse(co), objects):
        idx = s.data_h[fi + k]
        obj = base + idx * s.size
        if idx >= objects or obj in free:
            problems.append(f"{s.name} slab {head:#x}: bad free index {idx}")
            continue
        free.add(obj)
    for cpu in range(node.nr_cpus):
        a = s.ac_base + cpu * AC_NF
        for i in range(s.acv[a + AC_AVAIL]):
            obj = s.acv[a + AC_ENTRY + i]
            if start <= obj < end:
                if obj in free:
                    problems.append(f"{s.name}: object {obj:#x} twice on free lists")
                free.add(obj)
    return free, problems


def check_cache(s):
    """SLAB keeps nothing beyond what free_objects_of_slab walks: no more to check."""
    return []
