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

NUMA (nodes > 1; with one node this is the !CONFIG_NUMA build, none of it
runs): one kmem_cache_node per node (s.node[nid]: slabs_partial/full/free,
free_objects, free_limit = (1 + nr_cpus_node) * batchcount + num, colour_next)
and a slab is on the lists of the node its pages are on.  A CPU's array
cache holds objects of its own node only:

    __do_cache_alloc   node asked = NUMA_NO_NODE or this CPU's node:
                       ____cache_alloc (array cache; cache_alloc_refill from
                       this node's lists, growing with gfp_exact_node:
                       __GFP_THISNODE, no reclaim), then ____cache_alloc_node
                       on this node; another node: ____cache_alloc_node(nid)
    ____cache_alloc_node  one object of node nid's lists, else cache_grow_begin
                       on nid (gfp_exact_node), else fallback_alloc
    fallback_alloc     none with __GFP_THISNODE; else the nodes of this CPU's
                       zonelist that have free objects, then a slab grown with
                       the caller's flags (the page allocator may fall back)
                       and allocated from on whatever node it landed
    cache_free_alien   (___cache_free, when nr_online_nodes > 1) an object of
                       another node goes to the alien cache of the freeing
                       CPU's node for the owner (n->alien[slab_node], limit
                       12); a full one is drained first (__drain_alien_cache:
                       free_block on the owner's lists under its list_lock)

Not modelled: OBJFREELIST management (set_objfreelist_slab_cache, tried
first by the kernel for caches without a ctor, SLAB_TYPESAFE_BY_RCU or
init_on_free; it sizes slabs exactly as OFF_SLAB does but keeps the array
in a free object), the shared array cache (n->shared), the reaper (alien
caches are drained when full, by kmem_cache_shrink and at destroy); the
index is u16 even where the kernel packs u8.  The alien caches of one
(cache, node) share one lock (the kernel has one per alien cache) to stay
within the lock pool; with two nodes that is the same.  Debug red zones and
poison use the SLUB byte values (0xbb/0xcc, 0x6b/0xa5) so the checkers have
one vocabulary; the classic SLAB wrote 64-bit red-zone words.

struct slab in struct page (page.py): slab_cache, slab_freelist = address
of the index array (inside the slab, or a kmalloc object for OFF_SLAB),
slab_counters = active | num << 16, page_private of the head page = the
colour offset in bytes.  Node scalars and lists are in
slab_common's kmem_cache_node / kmem_cache_lhead sections.

Arena sections (C = MAX_CACHES, N = nr_cpus, M = NUMA nodes)::

    array_cache  u64[C * N * AC_NF]  [(cache * N + cpu) * AC_NF + ...]:
                                     0 avail, 1 limit, 2 batchcount, 3 touched,
                                     4.. entry[AC_MAX] object addresses
    alien_cache  u64[C * M * M * AL_NF]  [((cache * M + node) * M + owner) * AL_NF]:
                                     the alien cache node keeps for objects of
                                     node owner: 0 avail, 1 limit, 2 lock id,
                                     4.. entry[ALIEN_LIMIT]

Lock order: slab_mutex -> alien->lock -> node->list_lock (the owner's); the
array cache is protected by disabling interrupts on its own CPU (it is never
touched by another CPU while that CPU runs).  Slabs that free_block gives up
are destroyed after every lock is dropped (slabs_destroy).
"""

from . import context, debug, page_alloc, slab_debug, spinlock
from .kmalloc import kfree, kmalloc_slab
from .context import local_irq_restore, local_irq_save
from .gfp import (__GFP_DIRECT_RECLAIM, __GFP_HARDWALL, __GFP_NOFAIL, __GFP_NOWARN,
                  __GFP_NO_GROW, __GFP_RECLAIM, __GFP_THISNODE, __GFP_ZERO, GFP_RECLAIM_MASK,
                  GFP_SLAB_BUG_MASK, gfp_zone)
from .list import list_add, list_del
from .page import NIL, PGTY_NONE, PGTY_slab
from .page_alloc import NUMA_NO_NODE, node_zonelist
from . import slab_common as sc
from .slab_common import (ALIGN, KC_ALIGN, KC_ALLOCFLAGS, KC_BATCH, KC_COLOUR, KC_COLOUR_OFF,
                          KC_FLAGS, KC_FREELIST_SIZE, KC_INUSE, KC_LIMIT, KC_NF, KC_OBJECT_SIZE,
                          KC_OBJECTS, KC_ORDER, KC_RED_LEFT_PAD, KC_SIZE, KN_COLOUR_NEXT,
                          KN_FREE_OBJECTS, KN_NR_FREE, KN_NR_SLABS, KN_TOTAL_OBJECTS, LIST_FREE,
                          LIST_FULL, LIST_PARTIAL, NR_STAT, OBJECT_POISON, SLAB_POISON, SLAB_RED_ZONE,
                          SLAB_STORE_USER, ALLOC_FASTPATH, FREE_FASTPATH)
from .slab_debug import POISON_INUSE
from .slab_h import slab_counters, slab_inuse, slab_objects, virt_to_slab
from .slab_sizes import (CFLGS_OFF_SLAB, IDX_SIZE, SLAB_OBJ_MAX_NUM, OFF_SLAB,  # noqa: F401
                         _kmalloc_slab, cache_estimate, calculate_slab_order,
                         set_off_slab_cache)

AC_MAX = 120
AC_NF = 4 + AC_MAX
AC_AVAIL, AC_LIMIT, AC_BATCH, AC_TOUCHED, AC_ENTRY = 0, 1, 2, 3, 4
ALIEN_LIMIT = 12                 # alloc_alien_cache: 12 entries (1 where the array cache has 1)
AL_NF = 4 + ALIEN_LIMIT
AL_LOCK = 2                      # the alien cache row's lock id (AC_AVAIL, AC_LIMIT as above)
GFP_CONSTRAINT_MASK = __GFP_HARDWALL | __GFP_THISNODE
name = "slab"


def arena_sections(nr_cpus, nr_nodes=1):
    return [("array_cache", "Q", sc.MAX_CACHES * nr_cpus * AC_NF),
            ("alien_cache", "Q", sc.MAX_CACHES * nr_nodes * nr_nodes * AL_NF)]


def init(state):
    state.acv = state.pgdat.arena.v["array_cache"]
    state.alien = state.pgdat.arena.v["alien_cache"]
    state.data_h = state.pgdat.data.cast("H")
    state.extra_views = [state.data_h]


def bind_cache(s):
    st = s.state
    pgdat = st.pgdat
    s.acv = st.acv
    s.ac_base = s.id * pgdat.nr_cpus * AC_NF
    s.statv = st.stat
    s.mm = pgdat.mem_map
    s.data_h = st.data_h
    s.off_slab = bool(OFF_SLAB(s))
    s.node_lists = True                   # each slab on its own node's lists
    s.numa = pgdat.nr_nodes > 1           # nr_online_nodes > 1: alien caches in use
    s.cpu_node = pgdat.numa.cpu_to_node   # numa_mem_id() of each CPU
    # n->free_limit of init_cache_node, per node
    s.free_limits = [(1 + len(pgdat.numa.cpumask_of_node(nid))) * s.batchcount + s.objects
                     for nid in range(pgdat.nr_nodes)]
    s.alien = st.alien
    s.alien_base = s.id * pgdat.nr_nodes * pgdat.nr_nodes * AL_NF
    s.alien_locks = ([sc._lock_handle(pgdat.locks, st.alien[alien_row(s, nid, 0) + AL_LOCK])
                      for nid in range(pgdat.nr_nodes)] if s.numa else [])


def alien_row(s, node, owner):
    """Index in alien_cache of node ``node``'s alien cache for objects of ``owner``."""
    return s.alien_base + (node * s.pgdat.nr_nodes + owner) * AL_NF


def slab_base(s, head):
    return s.mm.private[head]


def _stat(s, item, n=1):
    # sc.stat_slot(s, cpu, item), inlined: the slow paths count often
    s.statv[s.stat_base + context.this_cpu.id * NR_STAT + item] += n


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
    m = node.nr_nodes
    if m > 1:                                  # setup_kmem_cache_node: alloc_alien_cache
        name = bytes(st.names[cid * sc.NAME_LEN:(cid + 1) * sc.NAME_LEN]).rstrip(b"\0").decode()
        for nid in range(m):
            lock = spinlock.spin_lock_init(node.locks, f"&alien->lock[{name}/{nid}]").id
            for owner in range(m):
                r = ((cid * m + nid) * m + owner) * AL_NF
                st.alien[r + AC_AVAIL] = 0
                st.alien[r + AC_LIMIT] = 0 if owner == nid else min(limit, ALIEN_LIMIT)
                st.alien[r + AL_LOCK] = lock
    return True


# -- slabs ----------------------------------------------------------------------------
def _lists(s, n, lid):
    st = s.state
    return st.lhead, st.ltail, n.lbase + lid


def _move(s, n, pfn, frm, to):
    mm = s.mm
    if frm is not None:
        h, t, l = _lists(s, n, frm)
        list_del(mm.next, mm.prev, h, t, l, pfn)
    h, t, l = _lists(s, n, to)
    list_add(mm.next, mm.prev, h, t, l, pfn)


def _which_list(s, pfn):
    active = slab_inuse(s.mm.slab_counters[pfn])
    return LIST_FREE if not active else LIST_FULL if active == s.objects else LIST_PARTIAL


def slab_nid(s, pfn):
    return s.pgdat.page_to_nid(pfn)


def gfp_exact_node(gfp):
    """The flags of a grow that must stay on its node and not reclaim (CONFIG_NUMA)."""
    return (gfp | __GFP_THISNODE | __GFP_NOWARN) & ~(__GFP_RECLAIM | __GFP_NOFAIL)


def _alloc_slabmgmt(s, flags, nid):
    """alloc_slabmgmt's kmalloc_node(freelist_size, flags, nid) for an OFF_SLAB
    slab.  The model's own allocation, not the caller's: it goes to the kmalloc
    cache directly, past kmalloc_node's node-locality hook."""
    fc = kmalloc_slab(s.state, s.freelist_size, flags)
    return sc.slab_alloc_node(fc, flags, s.freelist_size, nid if s.numa else NUMA_NO_NODE)


def cache_grow_begin(s, gfp, nodeid=NUMA_NO_NODE):
    """A new slab of pages from node ``nodeid`` (or where the page allocator fell
    back to), its objects set up; on no list yet.  Returns its head pfn or None.
    list_lock not held; the caller has restored the irq state if it may sleep."""
    if gfp & GFP_SLAB_BUG_MASK:
        gfp = sc.kmalloc_fix_flags(gfp)
    if gfp & __GFP_NO_GROW:
        return None
    node = s.pgdat
    local_flags = gfp & (GFP_CONSTRAINT_MASK | GFP_RECLAIM_MASK)
    pfn = page_alloc.__alloc_pages(node, local_flags | s.allocflags, s.order, nodeid)
    if pfn is None:
        return None
    n = s.node[slab_nid(s, pfn)] if s.numa else s.node[0]
    start = s.page_offset + (pfn << s.page_shift)
    if s.off_slab:                            # alloc_slabmgmt: the index array from kmalloc
        freelist = _alloc_slabmgmt(s, local_flags & ~GFP_CONSTRAINT_MASK, n.nid)
        if not freelist:
            page_alloc.__free_pages(node, pfn, s.order)       # opps1
            return None
    else:                                     # the last freelist_size bytes of the slab
        freelist = start + s.slab_bytes - s.freelist_size
    mm = s.mm
    st = s.state
    nb = n.base
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    colour_next = st.node[nb + KN_COLOUR_NEXT]
    st.node[nb + KN_COLOUR_NEXT] = 0 if colour_next + 1 >= s.colour else colour_next + 1
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
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
    return pfn


def cache_grow_end(s, pfn):
    """Put a new slab on its node's lists (slabs_free while no object is taken)
    and count it; list_lock not held."""
    if pfn is None:
        return
    n = s.node[slab_nid(s, pfn)] if s.numa else s.node[0]
    st = s.state
    nb = n.base
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    lid = _which_list(s, pfn)
    _move(s, n, pfn, None, lid)
    st.node[nb + KN_NR_SLABS] += 1
    if lid == LIST_FREE:
        st.node[nb + KN_NR_FREE] += 1
    st.node[nb + KN_TOTAL_OBJECTS] += s.objects
    st.node[nb + KN_FREE_OBJECTS] += s.objects - slab_inuse(s.mm.slab_counters[pfn])
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    _stat(s, sc.ALLOC_SLAB)


def cache_grow(s, gfp, nodeid=NUMA_NO_NODE):
    """cache_grow_begin + cache_grow_end: a new slab on its node's slabs_free."""
    pfn = cache_grow_begin(s, gfp, nodeid)
    cache_grow_end(s, pfn)
    return pfn


def _grow_irqs_restored(s, gfp, nodeid, irqflags, begin_only=False):
    """cache_grow with the caller's irq state back (the page allocator may sleep),
    interrupts off again on return."""
    local_irq_restore(irqflags)
    try:
        return (cache_grow_begin if begin_only else cache_grow)(s, gfp, nodeid)
    finally:
        local_irq_save()


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


def _take_from_lists(s, n):
    """get_first_slab: node n's first partial slab, else its first free one
    (counted off free_slabs); (pfn, list) or (NIL, None).  list_lock held."""
    st = s.state
    pfn = st.lhead[n.lbase + LIST_PARTIAL]
    if pfn != NIL:
        return pfn, LIST_PARTIAL
    pfn = st.lhead[n.lbase + LIST_FREE]
    if pfn == NIL:
        return NIL, None
    st.node[n.base + KN_NR_FREE] -= 1
    return pfn, LIST_FREE


def cache_alloc_refill(s, gfp, a, irqflags):
    """Refill this CPU's array cache from its node's lists; irqs off.  Returns an
    object or 0.  With several nodes a slab grown here must be of this node
    (gfp_exact_node); the caller then tries ____cache_alloc_node."""
    acv = s.acv
    st = s.state
    nid = s.cpu_node[context.this_cpu.id]
    n = s.node[nid]
    nb = n.base
    grow_gfp = gfp_exact_node(gfp) if s.numa else gfp
    _stat(s, sc.ALLOC_SLOWPATH)
    while True:
        batch = acv[a + AC_BATCH]
        flags = spinlock.spin_lock_irqsave(n.list_lock)
        while batch > 0:
            pfn, lid = _take_from_lists(s, n)
            if pfn == NIL:
                break
            _stat(s, sc.ALLOC_FROM_PARTIAL)
            while batch > 0 and slab_inuse(s.mm.slab_counters[pfn]) < s.objects:
                avail = acv[a + AC_AVAIL]
                acv[a + AC_ENTRY + avail] = _get_obj(s, pfn)
                acv[a + AC_AVAIL] = avail + 1
                st.node[nb + KN_FREE_OBJECTS] -= 1
                batch -= 1
            _move(s, n, pfn, lid, _which_list(s, pfn))
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        avail = acv[a + AC_AVAIL]
        if avail:
            _stat(s, sc.ALLOC_REFILL)
            acv[a + AC_TOUCHED] = 1
            acv[a + AC_AVAIL] = avail - 1
            return acv[a + AC_ENTRY + avail - 1]
        if _grow_irqs_restored(s, grow_gfp, nid if s.numa else NUMA_NO_NODE, irqflags) is None:
            return 0


def ____cache_alloc_node(s, gfp, nid, irqflags):
    """One object of node ``nid``'s lists, else of a slab grown on it, else
    fallback_alloc; irqs off.  Returns the object or 0."""
    n = s.node[nid]
    st = s.state
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    pfn, lid = _take_from_lists(s, n)
    if pfn != NIL:
        obj = _get_obj(s, pfn)
        st.node[n.base + KN_FREE_OBJECTS] -= 1
        _move(s, n, pfn, lid, _which_list(s, pfn))
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        return obj
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    pfn = _grow_irqs_restored(s, gfp_exact_node(gfp), nid, irqflags, begin_only=True)
    obj = 0
    if pfn is not None:
        obj = _get_obj(s, pfn)                 # not counted yet: cache_grow_end counts it
        cache_grow_end(s, pfn)
    return obj or fallback_alloc(s, gfp, irqflags)


def fallback_alloc(s, gfp, irqflags):
    """Any node that has free objects, in this CPU's zonelist order, then a new
    slab wherever the page allocator finds pages; never with __GFP_THISNODE."""
    if gfp & __GFP_THISNODE:
        return 0
    pgdat = s.pgdat
    local = s.cpu_node[context.this_cpu.id]
    lay = pgdat.layout
    zonelist = node_zonelist(pgdat, local, gfp, gfp_zone(gfp, lay.has_highmem, lay.has_dma32))
    nodes = list(dict.fromkeys(z.nid for z in zonelist))
    kn = s.state.node
    while True:                                # retry:
        for nid in nodes:
            if kn[s.node[nid].base + KN_FREE_OBJECTS]:
                obj = ____cache_alloc_node(s, gfp_exact_node(gfp), nid, irqflags)
                if obj:
                    return obj
        pfn = _grow_irqs_restored(s, gfp, local, irqflags)
        if pfn is None:
            return 0
        obj = ____cache_alloc_node(s, gfp_exact_node(gfp), slab_nid(s, pfn), irqflags)
        if obj:
            return obj


def free_block(s, n, objs):
    """Give objects of node n's slabs back to them; n's list_lock held.
    Returns slabs to destroy (slabs_destroy, after the lock is dropped)."""
    st = s.state
    nb = n.base
    mm = s.mm
    destroy = []
    node = s.pgdat
    free_limit = s.free_limits[n.nid]
    for obj in objs:
        pfn = virt_to_slab(node, obj)
        lid = _which_list(s, pfn)
        _put_obj(s, pfn, obj)
        st.node[nb + KN_FREE_OBJECTS] += 1
        new = _which_list(s, pfn)
        if new == LIST_FREE:
            if st.node[nb + KN_FREE_OBJECTS] > free_limit:
                h, t, l = _lists(s, n, lid)
                list_del(mm.next, mm.prev, h, t, l, pfn)
                st.node[nb + KN_FREE_OBJECTS] -= s.objects
                st.node[nb + KN_NR_SLABS] -= 1
                st.node[nb + KN_TOTAL_OBJECTS] -= s.objects
                destroy.append(pfn)
                continue
            st.node[nb + KN_NR_FREE] += 1
        if new != lid:
            _move(s, n, pfn, lid, new)
    return destroy


def cache_flusharray(s, a, nid, count=None):
    """A batch of an array cache (of a CPU on node ``nid``) back to that node's slabs."""
    acv = s.acv
    avail = acv[a + AC_AVAIL]
    n = min(avail, acv[a + AC_BATCH] if count is None else count)
    objs = [acv[a + AC_ENTRY + i] for i in range(n)]
    kn = s.node[nid]
    flags = spinlock.spin_lock_irqsave(kn.list_lock)
    destroy = free_block(s, kn, objs)
    spinlock.spin_unlock_irqrestore(kn.list_lock, flags)
    for i in range(n, avail):
        acv[a + AC_ENTRY + i - n] = acv[a + AC_ENTRY + i]
    acv[a + AC_AVAIL] = avail - n
    for pfn in destroy:
        slab_destroy(s, pfn)


# -- alien caches (CONFIG_NUMA) ----------------------------------------------------------
def __drain_alien_cache(s, r, owner):
    """Alien cache row ``r`` (objects of node ``owner``) to the owner's lists;
    its alien lock held.  Returns slabs to destroy."""
    al = s.alien
    avail = al[r + AC_AVAIL]
    if not avail:
        return []
    n = s.node[owner]
    objs = list(al[r + AC_ENTRY:r + AC_ENTRY + avail])
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    destroy = free_block(s, n, objs)
    al[r + AC_AVAIL] = 0
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    return destroy


def cache_free_alien(s, obj, node, slab_node):
    """__cache_free_alien: an object of node ``slab_node`` freed on node ``node``
    goes into node's alien cache for its owner, drained first when full."""
    r = alien_row(s, node, slab_node)
    al = s.alien
    lock = s.alien_locks[node]
    flags = spinlock.spin_lock_irqsave(lock)
    destroy = []
    avail = al[r + AC_AVAIL]
    if avail >= al[r + AC_LIMIT]:
        destroy = __drain_alien_cache(s, r, slab_node)      # STATS_INC_ACOVERFLOW
        avail = 0
    al[r + AC_ENTRY + avail] = obj
    al[r + AC_AVAIL] = avail + 1
    spinlock.spin_unlock_irqrestore(lock, flags)
    for pfn in destroy:                                     # slabs_destroy
        slab_destroy(s, pfn)


def drain_alien_caches(s):
    """drain_alien_cache for every node: every alien cache to its owner's lists
    (under their locks: any CPU, any time)."""
    if not s.numa:
        return
    m = s.pgdat.nr_nodes
    for nid in range(m):
        lock = s.alien_locks[nid]
        for owner in range(m):
            if owner == nid:
                continue
            flags = spinlock.spin_lock_irqsave(lock)
            destroy = __drain_alien_cache(s, alien_row(s, nid, owner), owner)
            spinlock.spin_unlock_irqrestore(lock, flags)
            for pfn in destroy:
                slab_destroy(s, pfn)


# -- entry points --------------------------------------------------------------------
def slab_alloc_node(s, gfp, orig_size, node=NUMA_NO_NODE):
    """__do_cache_alloc: this CPU's array cache when ``node`` is NUMA_NO_NODE or
    this CPU's node, else ____cache_alloc_node.  Returns the object or 0."""
    cpu = context.this_cpu
    hooks = debug.fast_hooks                         # None: no checker listens (debug.py)
    if hooks is not None:
        if gfp & __GFP_DIRECT_RECLAIM:
            hooks.might_sleep("mm/slab.c:slab_alloc_node", gfp)
        if hooks.should_failslab(s.name, gfp):
            return 0
    flags = local_irq_save()
    if node < 0 or node == s.cpu_node[cpu.id]:       # NUMA_NO_NODE or local: ____cache_alloc
        acv = s.acv
        a = s.ac_base + cpu.id * AC_NF
        if hooks is not None:
            hooks.percpu_enter("slab_alloc_node", cpu.id, "irq")
        avail = acv[a + AC_AVAIL]
        if avail:
            acv[a + AC_TOUCHED] = 1
            acv[a + AC_AVAIL] = avail - 1
            obj = acv[a + AC_ENTRY + avail - 1]
            if hooks is not None:
                hooks.percpu_exit("slab_alloc_node", cpu.id)
            s.statv[s.stat_base + cpu.id * NR_STAT + ALLOC_FASTPATH] += 1      # allochit
        else:
            if hooks is not None:
                hooks.percpu_exit("slab_alloc_node", cpu.id)
            obj = cache_alloc_refill(s, gfp, a, flags)
            if not obj and s.numa:
                obj = ____cache_alloc_node(s, gfp, s.cpu_node[cpu.id], flags)
    else:
        obj = ____cache_alloc_node(s, gfp, node, flags)
    local_irq_restore(flags)
    if not obj:
        return 0
    if s.debug:
        slab_debug.slab_post_alloc_debug(s, virt_to_slab(s.pgdat, obj), obj, orig_size)
    if gfp & __GFP_ZERO:
        n = orig_size if s.debug and s.redzone and s.kmalloc else s.object_size
        off = obj - s.page_offset
        s.pgdat.data[off:off + n] = bytes(n)
    if hooks is not None:
        hooks.slab_alloc(s.name, obj, orig_size, gfp)
    return obj


def do_slab_free(s, head, obj):
    """___cache_free: an object of another node to the alien cache; else onto
    this CPU's array cache, flushing a batch when it is full."""
    cpu = context.this_cpu
    hooks = debug.fast_hooks                      # None: no checker listens (debug.py)
    if s.numa:                                    # nr_online_nodes > 1: cache_free_alien
        here = s.cpu_node[cpu.id]
        owner = slab_nid(s, head)
        if owner != here:
            flags = local_irq_save()
            cache_free_alien(s, obj, here, owner)
            local_irq_restore(flags)
            return
    acv = s.acv
    a = s.ac_base + cpu.id * AC_NF
    flags = local_irq_save()
    avail = acv[a + AC_AVAIL]
    if avail >= acv[a + AC_LIMIT]:
        _stat(s, sc.FREE_SLOWPATH)
        cache_flusharray(s, a, s.cpu_node[cpu.id])
        avail = acv[a + AC_AVAIL]
    else:
        s.statv[s.stat_base + cpu.id * NR_STAT + FREE_FASTPATH] += 1       # freehit
    if hooks is not None:
        hooks.percpu_enter("do_slab_free", cpu.id, "irq")
    acv[a + AC_ENTRY + avail] = obj
    acv[a + AC_AVAIL] = avail + 1
    if hooks is not None:
        hooks.percpu_exit("do_slab_free", cpu.id)
    local_irq_restore(flags)


def drain_cpu_cache(s, cpu):
    """Empty one CPU's array cache (its own CPU, or any CPU while that one is idle)."""
    a = s.ac_base + cpu * AC_NF
    nid = s.cpu_node[cpu]
    flags = local_irq_save()
    while s.acv[a + AC_AVAIL]:
        cache_flusharray(s, a, nid, s.acv[a + AC_AVAIL])
    local_irq_restore(flags)


def _drain_freelist(s):
    """drain_freelist of every node: its free slabs back to the page allocator."""
    st = s.state
    mm = s.mm
    freed = []
    for n in s.node:
        nb = n.base
        flags = spinlock.spin_lock_irqsave(n.list_lock)
        while True:
            pfn = st.lhead[n.lbase + LIST_FREE]
            if pfn == NIL:
                break
            h, t, l = _lists(s, n, LIST_FREE)
            list_del(mm.next, mm.prev, h, t, l, pfn)
            st.node[nb + KN_NR_FREE] -= 1
            st.node[nb + KN_NR_SLABS] -= 1
            st.node[nb + KN_TOTAL_OBJECTS] -= s.objects
            st.node[nb + KN_FREE_OBJECTS] -= s.objects
            freed.append(pfn)
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    for pfn in freed:
        slab_destroy(s, pfn)
    return len(freed) << s.order


def __kmem_cache_shrink(s):
    drain_cpu_cache(s, context.this_cpu.id)
    drain_alien_caches(s)
    return _drain_freelist(s)


def flush_all(s):
    """drain_cpu_caches: every CPU's array cache and every alien cache back to the
    slabs (CPUs idle)."""
    for cpu in range(s.pgdat.nr_cpus):
        drain_cpu_cache(s, cpu)
    drain_alien_caches(s)


def _node_sum(s, field):
    kn = s.state.node
    return sum(kn[n.base + field] for n in s.node)


def __kmem_cache_shutdown(s):
    flush_all(s)
    _drain_freelist(s)
    return _node_sum(s, KN_TOTAL_OBJECTS) - _node_sum(s, KN_FREE_OBJECTS)


def slabinfo_counts(s):
    """(active_objs, num_objs, active_slabs, num_slabs), as mm/slab.c get_slabinfo
    sums them over the nodes."""
    total_slabs = _node_sum(s, KN_NR_SLABS)
    num_objs = total_slabs * s.objects
    return (num_objs - _node_sum(s, KN_FREE_OBJECTS), num_objs,
            total_slabs - _node_sum(s, KN_NR_FREE), total_slabs)


def slabinfo_tunables(s):
    """The array cache's limit and batchcount; no shared array cache (0)."""
    return s.limit, s.batchcount, 0


def _alien_entries(s):
    """[(node, owner, object)] of every alien cache (CPUs idle)."""
    out = []
    if not s.numa:
        return out
    m = s.pgdat.nr_nodes
    for nid in range(m):
        for owner in range(m):
            r = alien_row(s, nid, owner)
            out += [(nid, owner, obj) for obj in s.alien[r + AC_ENTRY:r + AC_ENTRY +
                                                         s.alien[r + AC_AVAIL]]]
    return out


def free_objects_of_slab(s, head):
    """The slab's free indices plus every CPU's array cache and every alien cache
    entry in it, while CPUs are idle.  Returns (set of addresses, problems)."""
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
    cached = []
    for cpu in range(node.nr_cpus):
        a = s.ac_base + cpu * AC_NF
        cached += s.acv[a + AC_ENTRY:a + AC_ENTRY + s.acv[a + AC_AVAIL]]
    cached += [obj for _, _, obj in _alien_entries(s)]
    for obj in cached:
        if start <= obj < end:
            if obj in free:
                problems.append(f"{s.name}: object {obj:#x} twice on free lists")
            free.add(obj)
    return free, problems


def check_cache(s):
    """Each node's lists hold only that node's slabs, as many as its counters say;
    with several nodes each CPU's array cache holds objects of its own node and
    each alien cache objects of the node it is for.  CPUs idle."""
    problems = []
    st = s.state
    mm = s.mm
    pgdat = s.pgdat
    for n in s.node:
        nb = n.base
        slabs = free_slabs = free_objs = 0
        for lid, what in ((LIST_PARTIAL, "slabs_partial"), (LIST_FULL, "slabs_full"),
                          (LIST_FREE, "slabs_free")):
            pfn = st.lhead[n.lbase + lid]
            while pfn != NIL and slabs <= pgdat.nr_pages:
                if slab_nid(s, pfn) != n.nid:
                    problems.append(f"{s.name}: slab {pfn:#x} of node {slab_nid(s, pfn)} is on "
                                    f"node {n.nid}'s {what}")
                if _which_list(s, pfn) != lid:
                    problems.append(f"{s.name}: slab {pfn:#x} with {slab_inuse(mm.slab_counters[pfn])}"
                                    f" of {s.objects} in use is on node {n.nid}'s {what}")
                slabs += 1
                free_slabs += lid == LIST_FREE
                free_objs += s.objects - slab_inuse(mm.slab_counters[pfn])
                pfn = mm.next[pfn]
        for field, count, what in ((KN_NR_SLABS, slabs, "total_slabs"),
                                   (KN_NR_FREE, free_slabs, "free_slabs"),
                                   (KN_FREE_OBJECTS, free_objs, "free_objects")):
            if st.node[nb + field] != count:
                problems.append(f"{s.name}: node {n.nid} lists hold {count}, {what} is "
                                f"{st.node[nb + field]}")
    if not s.numa:
        return problems
    for cpu in range(pgdat.nr_cpus):
        a = s.ac_base + cpu * AC_NF
        for obj in s.acv[a + AC_ENTRY:a + AC_ENTRY + s.acv[a + AC_AVAIL]]:
            nid = pgdat.page_to_nid(pgdat.virt_to_pfn(obj))
            if nid != s.cpu_node[cpu]:
                problems.append(f"{s.name}: CPU {cpu}'s array cache (node {s.cpu_node[cpu]}) "
                                f"holds {obj:#x} of node {nid}")
    for nid, owner, obj in _alien_entries(s):
        got = pgdat.page_to_nid(pgdat.virt_to_pfn(obj))
        if got != owner:
            problems.append(f"{s.name}: node {nid}'s alien cache for node {owner} holds "
                            f"{obj:#x} of node {got}")
    return problems
