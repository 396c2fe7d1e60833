"""SLUB (mm/slub.c of Linux 6.12): per-CPU freelists behind a tid transaction.

    slab_alloc_node            fast path, no lock: read tid, c->freelist, c->slab;
                               next = get_freepointer(object); then the
                               this_cpu_cmpxchg_double is emulated with
                               interrupts masked for the compare-and-swap alone;
                               a changed tid (an interrupt allocated or freed in
                               between) makes it retry (cmpxchg_double_cpu_fail)
      __slab_alloc / ___slab_alloc   irqs off: c->freelist -> c->slab's freelist
                               (get_freelist) -> c->partial -> node partial under
                               list_lock (get_partial_node) -> new_slab()
    do_slab_free               fast path: an object of c->slab goes on
                               c->freelist by the same transaction; an object
                               that already is the freelist head is a double
                               free (set_freepointer's BUG_ON(object == fp),
                               CONFIG_SLAB_FREELIST_HARDENED): reported, skipped
      __slab_free              any other slab: slab->freelist/counters updated
                               under slab_lock, list_lock only for list moves;
                               a full slab gets onto this CPU's partial list
                               (put_cpu_partial)
    SLAB_CONSISTENCY_CHECKS    caches go the kernel's debug route instead:
                               every alloc and free under list_lock
                               (alloc_single_from_partial, free_to_partial_list)

Differences from the kernel, all deliberate:
- The slab's (freelist, counters) cmpxchg_double is emulated with slab_lock
  (a hashed pool of spinlocks, as slab_lock() is the kernel's fallback when
  the CPU has no double cmpxchg).
- Debug data (poison, redzones, tracks, object state) is written by the
  alloc/free hooks on both paths, as KASAN does, instead of sending debug
  caches to the locked path as slub_debug does: the checkers must see the
  lock-free paths.  SLAB_CONSISTENCY_CHECKS keeps the kernel's locked route.
- No freelist randomisation or pointer obfuscation.

NUMA (s->node[nid], slab_common.kmem_cache_node): a slab is on the lists of
the node its pages are on (slab_nid), under that node's list_lock, so a
remote free goes to the owning node's lists.  slab_alloc_node(s, gfp, size,
node): node_match() on the CPU slab (fast path and ___slab_alloc: a slab of
another node is deactivated, a CPU-partial one of another node is put back
on its node's list), get_partial: the node asked for (numa_node_id() for
NUMA_NO_NODE), then -- unless the caller named a node with __GFP_THISNODE --
get_any_partial over the other nodes in zonelist order whose nr_partial is
above min_partial.  The kernel tries get_any_partial only when get_cycles()
% 1024 <= remote_node_defrag_ratio (1000: about 98% of the time); the model
always tries (no clock in the model).  A new slab's pages come from
alloc_pages_node(node) (any node's zonelist fallback unless __GFP_THISNODE).
- With debug data, every allocation checks the object's free pointer
  (check_object's "Freepointer corrupt"; a pointer to itself is a loop).

Planted bugs (kernel_model.planted): ``slub_fastpath_no_irq`` makes the
emulated cmpxchg a compare, then an interrupt window, then the swap (both
fast paths); ``slub_skip_double_free`` drops the freelist-head check of
do_slab_free.

Arena sections (C = MAX_CACHES, N = nr_cpus)::

    kmem_cache_cpu   u64[C * N * 8]  [kcc_row(s, cpu) + KCC_*] (a row is a 64-byte line):
                                     0 freelist (object address, 0 NULL),
                                     1 tid (starts at cpu, += TID_STEP),
                                     2 slab (head pfn + 1, 0 none),
                                     3 partial (head pfn + 1 of the per-CPU
                                       partial chain, linked by page_lru_next;
                                       page_private of its head = slabs on it)

Each row is written only by its own CPU (and, when every CPU is idle, by
flush_all).  struct slab fields live in struct page (page.py): slab_cache,
slab_freelist, slab_counters (inuse 16 | objects 15 | frozen 1: slab_h's
slab_inuse / slab_objects / slab_frozen / slab_counters), PG_workingset
marks "on the node partial list" as slab_test_node_partial() does, and a
tail page of a high-order slab has page_lru_prev = its head pfn.

Lock order: slab_mutex -> node->list_lock -> kmem_cache_cpu (irqs off) -> slab_lock.
"""

from . import context, debug, page_alloc, planted, slab_debug, spinlock
from .context import local_irq_restore, local_irq_save
from .gfp import (__GFP_DIRECT_RECLAIM, __GFP_HARDWALL,
                  __GFP_NOFAIL, __GFP_NOMEMALLOC, __GFP_NORETRY, __GFP_NOWARN, __GFP_NO_GROW,
                  __GFP_RECLAIM, __GFP_THISNODE, __GFP_ZERO,
                  GFP_RECLAIM_MASK, GFP_SLAB_BUG_MASK)
from .list import list_add, list_add_tail, list_del
from .page_alloc import NUMA_NO_NODE
from .page import NIL, PGTY_NONE, PGTY_slab
from . import slab_common as sc
from .slab_common import (ALIGN, KC_ALLOCFLAGS, KC_CPU_PARTIAL_SLABS, KC_INUSE, KC_MIN_PARTIAL,
                          KC_NF, KC_OBJECT_SIZE, KC_OBJECTS, KC_OFFSET, KC_ORDER, KC_RED_LEFT_PAD,
                          KC_SIZE, KC_ALIGN, KC_FLAGS, KN_NR_FULL, KN_NR_PARTIAL, KN_NR_SLABS,
                          KN_TOTAL_OBJECTS, LIST_FULL, LIST_PARTIAL, NR_SLAB_LOCKS, NR_STAT,
                          SLAB_CONSISTENCY_CHECKS, SLAB_POISON,
                          SLAB_RED_ZONE, SLAB_STORE_USER,
                          SLAB_TYPESAFE_BY_RCU, SLAB_KMALLOC, OBJECT_POISON,
                          ALLOC_FASTPATH, CMPXCHG_DOUBLE_CPU_FAIL, FREE_FASTPATH)
from .slab_debug import POISON_INUSE
from .slab_h import SLAB_INUSE_ONE, slab_counters, slab_frozen, slab_inuse, slab_objects

# struct kmem_cache_cpu: the fields of one row of kmem_cache_cpu (see above)
KCC_FREELIST, KCC_TID, KCC_SLAB, KCC_PARTIAL = range(4)
KCC_NF = 8        # 4 fields padded to a 64-byte line: per-CPU areas never share one (no false
                  # sharing between two CPUs' fast paths, as the kernel's per-CPU allocator)
TID_STEP = 64                     # roundup_pow_of_two(NR_CPUS): tids stay per-CPU unique
PG_workingset = 1 << 7            # slab_test_node_partial()
PAGE_ALLOC_COSTLY_ORDER = 3
slub_max_order = PAGE_ALLOC_COSTLY_ORDER
slub_min_order = 0
slub_min_objects = 0
MAX_OBJS_PER_PAGE = 32767
MIN_PARTIAL, MAX_PARTIAL = 5, 10
SIZEOF_TRACK = 32                 # struct track {addr, handle, cpu, pid, when} on 64-bit
GFP_CONSTRAINT_MASK = __GFP_HARDWALL | __GFP_THISNODE

name = "slub"


def arena_sections(nr_cpus, nr_nodes=1):
    return [("kmem_cache_cpu", "Q", sc.MAX_CACHES * nr_cpus * KCC_NF)]


def init(state):
    """Boot-time setup of this allocator's per-process handles (before fork)."""
    state.kcc = state.pgdat.arena.v["kmem_cache_cpu"]


def bind_cache(s):
    st = s.state
    s.kcc = st.kcc
    s.cpu_base = s.id * st.pgdat.nr_cpus * KCC_NF
    s.statv = st.stat
    s.data_q = st.data_q
    s.fp_base = s.page_offset - s.offset      # (obj - fp_base) >> 3 = word of the free pointer
    s.mm = st.pgdat.mem_map
    s.locked = bool(s.flags & SLAB_CONSISTENCY_CHECKS)
    s.node_lists = True                       # each slab on its own node's lists
    s.fast = not s.debug and not s.locked and s.ctor is None


def slab_base(s, head):
    return 0


def kcc_row(s, cpu):
    """Index of CPU ``cpu``'s kmem_cache_cpu row of ``s``; add a KCC_* field."""
    return s.cpu_base + cpu * KCC_NF


# -- sizes (mm/slub.c 6.12 calculate_sizes / calculate_order / set_cpu_partial) ---
def order_objects(order, size, page_shift):
    return (1 << (order + page_shift)) // size


def calc_slab_order(size, min_order, max_order, fract_leftover, page_shift):
    order = min_order
    while order <= max_order:
        slab_size = 1 << (order + page_shift)
        rem = slab_size % size
        if rem <= slab_size // fract_leftover:
            break
        order += 1
    return order


def calculate_order(size, page_shift, nr_cpus):
    min_objects = slub_min_objects
    if not min_objects:
        min_objects = 4 * (nr_cpus.bit_length() + 1)     # 4 * (fls(nr_cpus) + 1)
    max_objects = max(order_objects(slub_max_order, size, page_shift), 1)
    min_objects = min(min_objects, max_objects)
    min_order = max(slub_min_order, sc.get_order(min_objects * size, page_shift))
    if order_objects(min_order, size, page_shift) > MAX_OBJS_PER_PAGE:
        return sc.get_order(size * MAX_OBJS_PER_PAGE, page_shift) - 1
    fraction = 16
    while fraction > 1:
        order = calc_slab_order(size, min_order, slub_max_order, fraction, page_shift)
        if order <= slub_max_order:
            return order
        fraction //= 2
    order = sc.get_order(size, page_shift)
    return order if order <= 10 else -1


def calculate_sizes(object_size, align, flags, has_ctor, page_shift, nr_cpus):
    """Returns (size, offset, inuse, red_left_pad, order, objects, flags)."""
    size = ALIGN(object_size, 8)
    if flags & SLAB_POISON and not flags & SLAB_TYPESAFE_BY_RCU and not has_ctor:
        flags |= OBJECT_POISON
    else:
        flags &= ~OBJECT_POISON
    if flags & SLAB_RED_ZONE and size == object_size:
        size += 8
    inuse = size
    kmalloc_orig = flags & SLAB_KMALLOC and flags & SLAB_STORE_USER
    if (flags & SLAB_TYPESAFE_BY_RCU or flags & SLAB_POISON or has_ctor
            or (flags & SLAB_RED_ZONE and (object_size < 8 or kmalloc_orig))):
        offset = size
        size += 8
    else:
        offset = (object_size // 2) // 8 * 8
    if flags & SLAB_STORE_USER:
        size += 2 * SIZEOF_TRACK
        if flags & SLAB_KMALLOC:
            size += 4
    red_left_pad = 0
    if flags & SLAB_RED_ZONE:
        size += 8
        red_left_pad = ALIGN(8, align)
        size += red_left_pad
    size = ALIGN(size, align)
    order = calculate_order(size, page_shift, nr_cpus)
    if order < 0:
        return None
    return size, offset, inuse, red_left_pad, order, order_objects(order, size, page_shift), flags


def set_cpu_partial(size, objects, page_size):
    if size >= page_size:
        nr_objects = 6
    elif size >= 1024:
        nr_objects = 24
    elif size >= 256:
        nr_objects = 52
    else:
        nr_objects = 120
    return max(1, -(-nr_objects * 2 // objects))


def __kmem_cache_create(st, cid, ctor):
    kc = st.kc
    b = cid * KC_NF
    node = st.pgdat
    r = calculate_sizes(kc[b + KC_OBJECT_SIZE], kc[b + KC_ALIGN], kc[b + KC_FLAGS], ctor is not None,
                        node.page_shift, node.nr_cpus)
    if r is None:
        return False
    size, offset, inuse, rlp, order, objects, flags = r
    kc[b + KC_SIZE], kc[b + KC_OFFSET], kc[b + KC_INUSE] = size, offset, inuse
    kc[b + KC_RED_LEFT_PAD], kc[b + KC_ORDER], kc[b + KC_OBJECTS] = rlp, order, objects
    kc[b + KC_FLAGS] = flags
    kc[b + KC_ALLOCFLAGS] = sc.cache_allocflags(flags)
    kc[b + KC_MIN_PARTIAL] = min(MAX_PARTIAL, max(MIN_PARTIAL, (size.bit_length() - 1) // 2))
    kc[b + KC_CPU_PARTIAL_SLABS] = set_cpu_partial(size, objects, node.page_size)
    n = node.nr_cpus
    kcc = st.kcc
    for cpu in range(n):
        base = (cid * n + cpu) * KCC_NF
        kcc[base + KCC_FREELIST] = 0
        kcc[base + KCC_TID] = cpu                       # init_tid(cpu)
        kcc[base + KCC_SLAB] = 0
        kcc[base + KCC_PARTIAL] = 0
    return True


# -- struct slab helpers ---------------------------------------------------------
def _stat(s, item):
    # sc.stat_slot(s, cpu, item), inlined: the slow paths count often
    s.statv[s.stat_base + context.this_cpu.id * NR_STAT + item] += 1


def slab_lock_of(s, pfn):
    return s.state.slab_locks[pfn % NR_SLAB_LOCKS]


def slab_update_freelist(s, pfn, fo, co, fn, cn):
    """The (freelist, counters) cmpxchg_double, emulated under slab_lock."""
    lock = s.state.slab_locks[pfn % NR_SLAB_LOCKS]
    mm = s.mm
    flags = spinlock.spin_lock_irqsave(lock)
    ok = mm.slab_freelist[pfn] == fo and mm.slab_counters[pfn] == co
    if ok:
        mm.slab_freelist[pfn] = fn
        mm.slab_counters[pfn] = cn
    spinlock.spin_unlock_irqrestore(lock, flags)
    if not ok:
        _stat(s, sc.CMPXCHG_DOUBLE_FAIL)
    return ok


def get_freepointer(s, obj):
    return s.data_q[(obj - s.fp_base) >> 3]


def set_freepointer(s, obj, fp):
    s.data_q[(obj - s.fp_base) >> 3] = fp


def slab_nid(s, pfn):
    return s.pgdat.page_to_nid(pfn)


def slab_node(s, pfn):
    """get_node(s, slab_nid(slab)): the lists a slab belongs on.  A cache of an
    allocator without per-node lists has node 0's lists only (sheaves, which
    shares these helpers, keeps per-node lists too)."""
    return s.node[s.pgdat.page_to_nid(pfn)] if s.node_lists else s.node[0]


def node_match(s, pfn, node):
    return node == NUMA_NO_NODE or s.pgdat.page_to_nid(pfn) == node


def _node_list(s, lid, n):
    st = s.state
    return st.lhead, st.ltail, n.lbase + lid


def add_partial(s, pfn, tail):
    n = slab_node(s, pfn)
    heads, tails, lid = _node_list(s, LIST_PARTIAL, n)
    mm = s.mm
    (list_add_tail if tail else list_add)(mm.next, mm.prev, heads, tails, lid, pfn)
    mm.flags[pfn] |= PG_workingset
    s.state.node[n.base + KN_NR_PARTIAL] += 1


def remove_partial(s, pfn):
    n = slab_node(s, pfn)
    heads, tails, lid = _node_list(s, LIST_PARTIAL, n)
    mm = s.mm
    list_del(mm.next, mm.prev, heads, tails, lid, pfn)
    mm.flags[pfn] &= ~PG_workingset
    s.state.node[n.base + KN_NR_PARTIAL] -= 1


def _add_full(s, pfn):
    n = slab_node(s, pfn)
    heads, tails, lid = _node_list(s, LIST_FULL, n)
    list_add(s.mm.next, s.mm.prev, heads, tails, lid, pfn)
    s.state.node[n.base + KN_NR_FULL] += 1


def _remove_full(s, pfn):
    n = slab_node(s, pfn)
    heads, tails, lid = _node_list(s, LIST_FULL, n)
    list_del(s.mm.next, s.mm.prev, heads, tails, lid, pfn)
    s.state.node[n.base + KN_NR_FULL] -= 1


def _inc_slabs_node(s, pfn, objects, nr):
    n = slab_node(s, pfn)
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    s.state.node[n.base + KN_NR_SLABS] += nr
    s.state.node[n.base + KN_TOTAL_OBJECTS] += objects
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)


# -- new and discarded slabs ------------------------------------------------------
def allocate_slab(s, flags, node=NUMA_NO_NODE):
    pgdat = s.pgdat
    flags |= s.allocflags
    order = s.order
    alloc_gfp = (flags | __GFP_NOWARN | __GFP_NORETRY) & ~__GFP_NOFAIL
    min_order = sc.get_order(s.size, s.page_shift)
    if alloc_gfp & __GFP_DIRECT_RECLAIM and order > min_order:
        alloc_gfp = (alloc_gfp | __GFP_NOMEMALLOC) & ~__GFP_RECLAIM
    pfn = page_alloc.__alloc_pages(pgdat, alloc_gfp, order, node)
    if pfn is None and order > min_order:
        order = min_order
        pfn = page_alloc.__alloc_pages(pgdat, flags, order, node)
    if pfn is None:
        return None
    objects = (pgdat.page_size << order) // s.size
    mm = s.mm
    mm.type[pfn] = PGTY_slab
    mm.order[pfn] = order
    ref = s.cache_ref
    for p in range(pfn, pfn + (1 << order)):
        mm.slab_cache[p] = ref
        if p != pfn:
            mm.prev[p] = pfn
    start = s.page_offset + (pfn << s.page_shift)
    first = start + s.red_left_pad
    size = s.size
    debug_on = s.debug
    ctor = s.ctor
    if debug_on:
        end = start + objects * size
        slab_debug.fill_bytes(s, end, (pgdat.page_size << order) - objects * size, POISON_INUSE)
    dq = s.data_q
    fpb = s.fp_base
    for i in range(objects):
        obj = first + i * size
        if debug_on:
            slab_debug.setup_object_debug(s, pfn, obj, i)
        if ctor is not None:
            slab_debug.run_ctor(ctor, obj)
        dq[(obj - fpb) >> 3] = obj + size if i + 1 < objects else 0
    mm.slab_freelist[pfn] = first
    mm.slab_counters[pfn] = slab_counters(0, objects)
    mm.private[pfn] = 0
    _inc_slabs_node(s, pfn, objects, 1)
    return pfn


def new_slab(s, flags, node=NUMA_NO_NODE):
    if flags & GFP_SLAB_BUG_MASK:
        flags = sc.kmalloc_fix_flags(flags)
    if flags & __GFP_NO_GROW:
        return None
    return allocate_slab(s, flags & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK), node)


def free_slab(s, pfn):
    mm = s.mm
    order = mm.order[pfn]
    objects = slab_objects(mm.slab_counters[pfn])
    for p in range(pfn + 1, pfn + (1 << order)):
        mm.slab_cache[p] = 0
        mm.prev[p] = NIL
    mm.slab_cache[pfn] = 0
    mm.slab_freelist[pfn] = 0
    mm.slab_counters[pfn] = 0
    mm.type[pfn] = PGTY_NONE
    mm.flags[pfn] &= ~PG_workingset
    mm.private[pfn] = 0
    _inc_slabs_node(s, pfn, -objects, -1)
    debug.hooks.slab_event("free_slab", cache=s.name, pfn=pfn, order=order)
    page_alloc.__free_pages(s.pgdat, pfn, order)


def discard_slab(s, pfn):
    free_slab(s, pfn)
    _stat(s, sc.FREE_SLAB)


# -- cpu slab management (irqs off) -------------------------------------------------
def get_freelist(s, pfn):
    """Take the cpu slab's whole freelist; unfreeze it if there is none."""
    mm = s.mm
    while True:
        fl = mm.slab_freelist[pfn]
        co = mm.slab_counters[pfn]
        objects = slab_objects(co)
        new = slab_counters(objects, objects, frozen=bool(fl))
        if slab_update_freelist(s, pfn, fl, co, 0, new):
            return fl


def freeze_slab(s, pfn):
    mm = s.mm
    while True:
        fl = mm.slab_freelist[pfn]
        co = mm.slab_counters[pfn]
        objects = slab_objects(co)
        if slab_update_freelist(s, pfn, fl, co, 0, slab_counters(objects, objects, frozen=1)):
            return fl


def _freelist_walk(s, pfn, freelist, what):
    """(count, tail) of a chain of free objects; reports and stops on corruption."""
    start = s.page_offset + (pfn << s.page_shift)
    end = start + (s.pgdat.page_size << s.mm.order[pfn])
    n, tail, it = 0, 0, freelist
    limit = slab_objects(s.mm.slab_counters[pfn])
    while it:
        if not start <= it < end or n >= limit:
            debug.hooks.report("freelist-corrupt",
                               f"BUG {s.name}: Freechain corrupt ({what}): {it:#x} after {n} "
                               f"objects in slab pfn {pfn:#x}")
            break
        tail = it
        n += 1
        it = get_freepointer(s, it)
    return n, tail


def deactivate_slab(s, pfn, freelist):
    mm = s.mm
    tail_mode = False
    if mm.slab_freelist[pfn]:
        _stat(s, sc.DEACTIVATE_REMOTE_FREES)
        tail_mode = True
    free_delta, freelist_tail = _freelist_walk(s, pfn, freelist, "deactivate_slab")
    while True:
        ofl = mm.slab_freelist[pfn]
        oco = mm.slab_counters[pfn]
        inuse = slab_inuse(oco)
        objects = slab_objects(oco)
        if freelist_tail:
            inuse -= free_delta
            set_freepointer(s, freelist_tail, ofl)
            nfl = freelist
        else:
            nfl = ofl
        if slab_update_freelist(s, pfn, ofl, oco, nfl, slab_counters(inuse, objects)):
            break
    n = slab_node(s, pfn)
    if not inuse and s.state.node[n.base + KN_NR_PARTIAL] >= s.min_partial:
        _stat(s, sc.DEACTIVATE_EMPTY)
        discard_slab(s, pfn)
    elif nfl:
        flags = spinlock.spin_lock_irqsave(n.list_lock)
        add_partial(s, pfn, tail_mode)
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        _stat(s, sc.DEACTIVATE_TO_TAIL if tail_mode else sc.DEACTIVATE_TO_HEAD)
    else:
        _stat(s, sc.DEACTIVATE_FULL)


def __put_partials(s, pfn):
    """Each slab to its own node's partial list, switching list_lock as the node
    changes (n2 != n), as the kernel does."""
    mm = s.mm
    discard = []
    n = None
    flags = None
    while pfn != NIL:
        nxt = mm.next[pfn]
        mm.next[pfn] = NIL
        mm.private[pfn] = 0
        n2 = slab_node(s, pfn)
        if n2 is not n:
            if n is not None:
                spinlock.spin_unlock_irqrestore(n.list_lock, flags)
            n = n2
            flags = spinlock.spin_lock_irqsave(n.list_lock)
        if not slab_inuse(mm.slab_counters[pfn]) and \
                s.state.node[n.base + KN_NR_PARTIAL] >= s.min_partial:
            discard.append(pfn)
        else:
            add_partial(s, pfn, True)
            _stat(s, sc.FREE_ADD_PARTIAL)
        pfn = nxt
    if n is not None:
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    for p in discard:
        discard_slab(s, p)


def put_cpu_partial(s, pfn, drain):
    """Put an unfrozen slab on this CPU's partial list; drain it if it is long."""
    mm = s.mm
    kcc = s.kcc
    c = kcc_row(s, context.this_cpu.id)
    flags = local_irq_save()
    old = kcc[c + KCC_PARTIAL]
    to_put = NIL
    slabs = 0
    if old:
        if drain and mm.private[old - 1] >= s.cpu_partial_slabs:
            to_put = old - 1
            old = 0
        else:
            slabs = mm.private[old - 1]
    slabs += 1
    mm.private[pfn] = slabs
    mm.next[pfn] = old - 1 if old else NIL
    kcc[c + KCC_PARTIAL] = pfn + 1
    local_irq_restore(flags)
    if to_put != NIL:
        __put_partials(s, to_put)
        _stat(s, sc.CPU_PARTIAL_DRAIN)


def get_partial_node(s, n):
    """Take a slab off node n's partial list (and refill the CPU partial list)."""
    st = s.state
    if not st.node[n.base + KN_NR_PARTIAL]:
        return None
    heads = st.lhead
    lid = n.lbase + LIST_PARTIAL
    mm = s.mm
    got = None
    partial_slabs = 0
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    pfn = heads[lid]
    while pfn != NIL:
        nxt = mm.next[pfn]
        remove_partial(s, pfn)
        if got is None:
            got = pfn
            _stat(s, sc.ALLOC_FROM_PARTIAL)
        else:
            put_cpu_partial(s, pfn, False)
            _stat(s, sc.CPU_PARTIAL_NODE)
            partial_slabs += 1
            if partial_slabs > s.cpu_partial_slabs // 2:
                break
        pfn = nxt
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    return got


def get_any_partial(s):
    """A partial slab of another node, nearest first (the zonelist of this CPU's node)."""
    pgdat = s.pgdat
    here = pgdat.numa_node_id()
    st = s.state
    for nid in pgdat.node_data[here].node_order:
        n = s.node[nid]
        if st.node[n.base + KN_NR_PARTIAL] > s.min_partial:
            pfn = get_partial_node(s, n)
            if pfn is not None:
                return pfn
    return None


def get_partial(s, node, gfp):
    """The node asked for (this CPU's for NUMA_NO_NODE), then any node unless
    the caller named one with __GFP_THISNODE."""
    if not s.node_lists:
        return get_partial_node(s, s.node[0])
    searchnode = s.pgdat.numa_node_id() if node == NUMA_NO_NODE else node
    pfn = get_partial_node(s, s.node[searchnode])
    if pfn is not None or (node != NUMA_NO_NODE and gfp & __GFP_THISNODE):
        return pfn
    return get_any_partial(s)


def ___slab_alloc(s, gfp, c, irqflags, node=NUMA_NO_NODE):
    """The slow path; interrupts are off (irqflags restores the caller's state).

    Returns (object, slab head pfn) or (0, None).
    """
    kcc = s.kcc
    mm = s.mm
    _stat(s, sc.ALLOC_SLOWPATH)
    while True:                                   # reread_slab
        slab = kcc[c + KCC_SLAB]
        if slab and not node_match(s, slab - 1, node):
            _stat(s, sc.ALLOC_NODE_MISMATCH)        # goto deactivate_slab
            flush_fl = kcc[c + KCC_FREELIST]
            kcc[c + KCC_SLAB] = 0
            kcc[c + KCC_FREELIST] = 0
            kcc[c + KCC_TID] += TID_STEP
            deactivate_slab(s, slab - 1, flush_fl)
            slab = 0
        if slab:
            pfn = slab - 1
            freelist = kcc[c + KCC_FREELIST]
            if not freelist:
                freelist = get_freelist(s, pfn)
                if freelist:
                    _stat(s, sc.ALLOC_REFILL)
            if freelist:
                kcc[c + KCC_FREELIST] = get_freepointer(s, freelist)
                kcc[c + KCC_TID] += TID_STEP
                return freelist, pfn
            kcc[c + KCC_SLAB] = 0
            kcc[c + KCC_TID] += TID_STEP
            _stat(s, sc.DEACTIVATE_BYPASS)
        partial = kcc[c + KCC_PARTIAL]              # new_slab:
        while partial and not node_match(s, partial - 1, node):
            pfn = partial - 1                      # another node's: back to its node list
            nxt = mm.next[pfn]
            kcc[c + KCC_PARTIAL] = partial = 0 if nxt == NIL else nxt + 1
            if nxt != NIL:
                mm.private[nxt] = mm.private[pfn] - 1
            mm.next[pfn] = NIL
            __put_partials(s, pfn)
        if partial:
            pfn = partial - 1
            nxt = mm.next[pfn]
            kcc[c + KCC_PARTIAL] = 0 if nxt == NIL else nxt + 1
            if nxt != NIL:
                mm.private[nxt] = mm.private[pfn] - 1
            mm.next[pfn] = NIL
            mm.private[pfn] = 0
            _stat(s, sc.CPU_PARTIAL_ALLOC)
            freelist = freeze_slab(s, pfn)
        else:
            pfn = get_partial(s, node, gfp)        # new_objects:
            if pfn is not None:
                freelist = freeze_slab(s, pfn)
            else:
                local_irq_restore(irqflags)        # the page allocator may sleep
                try:
                    pfn = new_slab(s, gfp, node)
                finally:
                    local_irq_save()
                if pfn is None:
                    return 0, None
                _stat(s, sc.ALLOC_SLAB)
                freelist = mm.slab_freelist[pfn]
                objects = slab_objects(mm.slab_counters[pfn])
                mm.slab_freelist[pfn] = 0
                mm.slab_counters[pfn] = slab_counters(objects, objects, frozen=1)
        while kcc[c + KCC_SLAB]:                    # retry_load_slab
            flush_fl = kcc[c + KCC_FREELIST]
            flush_slab = kcc[c + KCC_SLAB] - 1
            kcc[c + KCC_SLAB] = 0
            kcc[c + KCC_FREELIST] = 0
            kcc[c + KCC_TID] += TID_STEP
            deactivate_slab(s, flush_slab, flush_fl)
            _stat(s, sc.CPUSLAB_FLUSH)
        if not freelist:                           # cannot happen: partial slabs have objects
            continue
        kcc[c + KCC_SLAB] = pfn + 1
        kcc[c + KCC_FREELIST] = get_freepointer(s, freelist)
        kcc[c + KCC_TID] += TID_STEP
        return freelist, pfn


def __slab_alloc(s, gfp, c, node=NUMA_NO_NODE):
    flags = local_irq_save()
    try:
        return ___slab_alloc(s, gfp, c, flags, node)
    finally:
        local_irq_restore(flags)


# -- the locked debug route (SLAB_CONSISTENCY_CHECKS) ----------------------------------
def alloc_single(s, gfp, node=NUMA_NO_NODE):
    """alloc_single_from_partial / alloc_single_from_new_slab, under list_lock
    (of the node asked for, this CPU's for NUMA_NO_NODE)."""
    _stat(s, sc.ALLOC_LOCKED)
    mm = s.mm
    st = s.state
    if not s.node_lists:
        n = s.node[0]
    else:
        n = s.node[s.pgdat.numa_node_id() if node == NUMA_NO_NODE else node]
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    pfn = st.lhead[n.lbase + LIST_PARTIAL]
    if pfn == NIL:
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        pfn = new_slab(s, gfp, node)
        if pfn is None:
            return 0, None
        n = slab_node(s, pfn)
        flags = spinlock.spin_lock_irqsave(n.list_lock)
        add_partial(s, pfn, True)
    obj = mm.slab_freelist[pfn]
    mm.slab_freelist[pfn] = get_freepointer(s, obj)
    co = mm.slab_counters[pfn] + 1
    mm.slab_counters[pfn] = co
    if slab_inuse(co) == slab_objects(co):
        remove_partial(s, pfn)
        _add_full(s, pfn)
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    return obj, pfn


def free_to_partial_list(s, pfn, obj):
    mm = s.mm
    n = slab_node(s, pfn)
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    co = mm.slab_counters[pfn]
    was_full = not mm.slab_freelist[pfn]
    set_freepointer(s, obj, mm.slab_freelist[pfn])
    mm.slab_freelist[pfn] = obj
    co -= 1
    mm.slab_counters[pfn] = co
    if was_full:
        _remove_full(s, pfn)
        add_partial(s, pfn, True)
    discard = False
    if not slab_inuse(co) and s.state.node[n.base + KN_NR_PARTIAL] > s.min_partial:
        remove_partial(s, pfn)
        discard = True
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    _stat(s, sc.FREE_SLOWPATH)
    if discard:
        discard_slab(s, pfn)


# -- the fast paths' transaction --------------------------------------------------------
# __update_cpu_freelist_fast() is this_cpu_try_cmpxchg_freelist(): (c->freelist,
# c->tid) from (freelist_old, tid) to (freelist_new, next_tid(tid)) in one step,
# failing if either changed (an interrupt on this CPU allocated or freed since the
# fast path read them).  x86 does it with one cmpxchg16b; the model masks
# interrupts for the compare and the two stores.  It is written out in
# slab_alloc_node and do_slab_free (they run once per kmalloc and kfree each, and
# a call costs as much as the transaction): local_irq_save()/local_irq_restore()
# inlined as context.py does them -- the soft mask is the flag, and the chip is
# called only to replay an interrupt that arrived meanwhile (cpu.irq_happened).
# A chip that masks for real (sigmask) is not called for this window: the soft
# flag alone defers its interrupt just the same.

def _update_cpu_freelist_racy(kcc, c, freelist_old, freelist_new, tid, hooks, what):
    """The planted bug slub_fastpath_no_irq: compare, then an interrupt window
    (``slab_tid_window(what + ":cmpxchg")``), then the swap -- not one step."""
    ok = kcc[c + KCC_TID] == tid and kcc[c + KCC_FREELIST] == freelist_old
    if ok:
        if hooks is not None:
            hooks.slab_tid_window(what + ":cmpxchg", context.this_cpu.id)
        kcc[c + KCC_FREELIST] = freelist_new
        kcc[c + KCC_TID] = tid + TID_STEP
    return ok


# -- entry points ---------------------------------------------------------------------
def slab_pre_alloc_hook(hooks, s, gfp):
    """might_alloc() and should_failslab(); False: the allocation must fail."""
    if gfp & __GFP_DIRECT_RECLAIM:
        hooks.might_sleep("mm/slub.c:slab_alloc_node", gfp)
    return not hooks.should_failslab(s.name, gfp)


def slab_post_alloc_hook(s, hooks, gfp, obj, pfn, orig_size):
    """The object's debug data (and check_object's free pointer check), __GFP_ZERO,
    then the KASAN-style hook (``hooks`` None: nobody listens)."""
    if s.debug:
        slab_debug.slab_post_alloc_debug(s, pfn, obj, orig_size)
        fp = s.data_q[(obj - s.fp_base) >> 3]        # check_object's free pointer check
        if fp and (fp == obj or (fp - obj) % s.size
                   or not 0 <= fp - s.page_offset - (pfn << s.page_shift) < s.slab_bytes):
            slab_debug.check_freepointer(s, pfn, obj, fp)
    if gfp & __GFP_ZERO:
        n = orig_size if s.debug and s.redzone and s.kmalloc else s.object_size
        off = obj - s.page_offset
        s.pgdat.data[off:off + n] = bytes(n)
    if hooks is not None:
        hooks.slab_alloc(s.name, obj, orig_size, gfp)


def slab_alloc_node(s, gfp, orig_size, node=NUMA_NO_NODE):
    """Allocate one object (on ``node`` if named); returns its address or 0 (NULL).

    ``hooks`` is debug.fast_hooks, the fast paths' static key: None when no
    checker listens, and then no hook is called at all."""
    hooks = debug.fast_hooks
    if hooks is not None and not slab_pre_alloc_hook(hooks, s, gfp):
        return 0
    if s.locked:
        obj, pfn = alloc_single(s, gfp, node)
    else:                                           # __slab_alloc_node
        cpu = context.this_cpu
        cid = cpu.id
        kcc = s.kcc
        c = s.cpu_base + cid * KCC_NF              # c = raw_cpu_ptr(s->cpu_slab): kcc_row(s, cid)
        c_tid, c_freelist = c + KCC_TID, c + KCC_FREELIST   # &c->tid, &c->freelist
        if hooks is not None:
            hooks.percpu_enter("slab_alloc_node", cid, "tid")
        while True:
            tid = kcc[c_tid]                        # tid = READ_ONCE(c->tid)
            obj = kcc[c_freelist]                   # object = c->freelist
            slab = kcc[c + KCC_SLAB]                # slab = c->slab
            if not obj or not slab or (node != NUMA_NO_NODE and not node_match(s, slab - 1, node)):
                if hooks is not None:
                    hooks.percpu_exit("slab_alloc_node", cid)
                obj, pfn = __slab_alloc(s, gfp, c, node)
                break
            nxt = s.data_q[(obj - s.fp_base) >> 3]  # get_freepointer_safe(s, object)
            if hooks is not None:
                hooks.slab_tid_window("slab_alloc_node", cid)
            if planted.slub_fastpath_no_irq:
                ok = _update_cpu_freelist_racy(kcc, c, obj, nxt, tid, hooks, "slab_alloc_node")
            else:                                   # __update_cpu_freelist_fast(), inlined:
                irqs = cpu.irqs_off                 # flags = local_irq_save()
                cpu.irqs_off = True
                ok = kcc[c_tid] == tid and kcc[c_freelist] == obj
                if ok:
                    kcc[c_freelist] = nxt
                    kcc[c_tid] = tid + TID_STEP     # next_tid(tid)
                cpu.irqs_off = irqs                 # local_irq_restore(flags)
                if cpu.irq_happened and not irqs:
                    cpu.chip.enable()               # take the interrupt that came meanwhile
            if ok:
                if hooks is not None:
                    hooks.percpu_exit("slab_alloc_node", cid)
                s.statv[s.stat_base + cid * NR_STAT + ALLOC_FASTPATH] += 1
                pfn = slab - 1
                break
            s.statv[s.stat_base + cid * NR_STAT + CMPXCHG_DOUBLE_CPU_FAIL] += 1
    if not obj:
        return 0
    if s.debug or gfp & __GFP_ZERO or hooks is not None:
        slab_post_alloc_hook(s, hooks, gfp, obj, pfn, orig_size)
    return obj


def __slab_free(s, pfn, obj):
    mm = s.mm
    n = slab_node(s, pfn)                          # the owning node's lists, not this CPU's
    _stat(s, sc.FREE_SLOWPATH)
    locked = False
    flags = None
    while True:
        if locked:
            spinlock.spin_unlock_irqrestore(n.list_lock, flags)
            locked = False
        prior = mm.slab_freelist[pfn]
        co = mm.slab_counters[pfn]
        if obj == prior:                           # set_freepointer's BUG_ON(object == fp)
            if locked:
                spinlock.spin_unlock_irqrestore(n.list_lock, flags)
            debug.hooks.double_free(s.name, obj, f"kernel BUG at mm/slub.c (set_freepointer): "
                                    f"naive detection of double free or corruption: {s.name} "
                                    f"object {obj:#x} is already the head of its slab's freelist")
            return
        set_freepointer(s, obj, prior)
        was_frozen = slab_frozen(co)
        inuse = slab_inuse(co) - 1
        on_node_partial = False
        if (not inuse or not prior) and not was_frozen and prior:
            flags = spinlock.spin_lock_irqsave(n.list_lock)
            locked = True
            on_node_partial = bool(mm.flags[pfn] & PG_workingset)
        if slab_update_freelist(s, pfn, prior, co, obj, co - SLAB_INUSE_ONE):   # new.inuse -= 1
            break
    if not locked:
        if was_frozen:
            _stat(s, sc.FREE_FROZEN)
        elif not prior:
            put_cpu_partial(s, pfn, True)
            _stat(s, sc.CPU_PARTIAL_FREE)
        return
    if prior and not on_node_partial:
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        return
    if not inuse and s.state.node[n.base + KN_NR_PARTIAL] >= s.min_partial:
        remove_partial(s, pfn)
        _stat(s, sc.FREE_REMOVE_PARTIAL)
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        discard_slab(s, pfn)
        return
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)


def do_slab_free(s, pfn, obj):
    """Free one object of slab ``pfn`` (its debug checks and hooks are done:
    slab_common.slab_free)."""
    if s.locked:
        free_to_partial_list(s, pfn, obj)
        return
    hooks = debug.fast_hooks                       # None: no checker listens
    cpu = context.this_cpu
    cid = cpu.id
    kcc = s.kcc
    c = s.cpu_base + cid * KCC_NF                  # c = raw_cpu_ptr(s->cpu_slab): kcc_row(s, cid)
    c_tid, c_freelist = c + KCC_TID, c + KCC_FREELIST   # &c->tid, &c->freelist
    want = pfn + 1
    if hooks is not None:
        hooks.percpu_enter("do_slab_free", cid, "tid")
    while True:
        tid = kcc[c_tid]                            # tid = READ_ONCE(c->tid)
        if kcc[c + KCC_SLAB] != want:               # slab != c->slab
            if hooks is not None:
                hooks.percpu_exit("do_slab_free", cid)
            __slab_free(s, pfn, obj)
            return
        freelist = kcc[c_freelist]
        if obj == freelist and not planted.slub_skip_double_free:
            if hooks is not None:
                hooks.percpu_exit("do_slab_free", cid)
            debug.hooks.double_free(s.name, obj, f"kernel BUG at mm/slub.c (set_freepointer): "
                                    f"naive detection of double free or corruption: {s.name} "
                                    f"object {obj:#x} is already the head of CPU {cid}'s freelist")
            return
        s.data_q[(obj - s.fp_base) >> 3] = freelist  # set_freepointer(s, tail, freelist)
        if hooks is not None:
            hooks.slab_tid_window("do_slab_free", cid)
        if planted.slub_fastpath_no_irq:
            ok = _update_cpu_freelist_racy(kcc, c, freelist, obj, tid, hooks, "do_slab_free")
        else:                                       # __update_cpu_freelist_fast(), inlined:
            irqs = cpu.irqs_off                     # flags = local_irq_save()
            cpu.irqs_off = True
            ok = kcc[c_tid] == tid and kcc[c_freelist] == freelist
            if ok:
                kcc[c_freelist] = obj
                kcc[c_tid] = tid + TID_STEP         # next_tid(tid)
            cpu.irqs_off = irqs                     # local_irq_restore(flags)
            if cpu.irq_happened and not irqs:
                cpu.chip.enable()                   # take the interrupt that came meanwhile
        if ok:
            if hooks is not None:
                hooks.percpu_exit("do_slab_free", cid)
            s.statv[s.stat_base + cid * NR_STAT + FREE_FASTPATH] += 1
            return
        s.statv[s.stat_base + cid * NR_STAT + CMPXCHG_DOUBLE_CPU_FAIL] += 1


# -- flush, shrink, shutdown ------------------------------------------------------------
def flush_cpu_slab(s, cpu):
    """__flush_cpu_slab: deactivate the CPU's slab and unfreeze its partial list.

    Run on the CPU itself, or for another CPU only when it is idle.
    """
    kcc = s.kcc
    c = kcc_row(s, cpu)
    flags = local_irq_save()
    slab = kcc[c + KCC_SLAB]
    fl = kcc[c + KCC_FREELIST]
    partial = kcc[c + KCC_PARTIAL]
    kcc[c + KCC_SLAB] = 0
    kcc[c + KCC_FREELIST] = 0
    kcc[c + KCC_PARTIAL] = 0
    kcc[c + KCC_TID] += TID_STEP
    local_irq_restore(flags)
    if slab:
        deactivate_slab(s, slab - 1, fl)
        _stat(s, sc.CPUSLAB_FLUSH)
    if partial:
        __put_partials(s, partial - 1)


def flush_all(s):
    for cpu in range(s.pgdat.nr_cpus):
        flush_cpu_slab(s, cpu)


def _drop_empty_partials(s):
    st = s.state
    mm = s.mm
    freed = 0
    empty = []
    for n in s.node:
        flags = spinlock.spin_lock_irqsave(n.list_lock)
        pfn = st.lhead[n.lbase + LIST_PARTIAL]
        while pfn != NIL:
            nxt = mm.next[pfn]
            if not slab_inuse(mm.slab_counters[pfn]):
                remove_partial(s, pfn)
                empty.append(pfn)
            pfn = nxt
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    for pfn in empty:
        freed += 1 << mm.order[pfn]
        discard_slab(s, pfn)
    return freed


def __kmem_cache_shrink(s):
    flush_cpu_slab(s, context.this_cpu.id)
    return _drop_empty_partials(s)


def __kmem_cache_shutdown(s):
    """Flush every CPU, free empty slabs; returns the number of objects left."""
    flush_all(s)
    _drop_empty_partials(s)
    return _node_sum(s, KN_TOTAL_OBJECTS) - count_free(s)


def _node_sum(s, field):
    """A kmem_cache_node counter summed over the nodes."""
    kn = s.state.node
    return sum(kn[n.base + field] for n in s.node)


def count_free(s):
    """Free objects on slabs of the node lists (for slabinfo after a flush)."""
    st = s.state
    mm = s.mm
    free = 0
    for n in s.node:
        pfn = st.lhead[n.lbase + LIST_PARTIAL]
        while pfn != NIL:
            co = mm.slab_counters[pfn]
            free += slab_objects(co) - slab_inuse(co)
            pfn = mm.next[pfn]
    return free


def slabinfo_counts(s):
    """(active_objs, num_objs, active_slabs, num_slabs) as SLUB's get_slabinfo.

    SLUB counts objects on the per-CPU freelists and CPU slabs as active,
    as the kernel's /proc/slabinfo does (count_partial sees only node lists).
    """
    nr_slabs = _node_sum(s, KN_NR_SLABS)
    total = _node_sum(s, KN_TOTAL_OBJECTS)
    return total - count_free(s), total, nr_slabs, nr_slabs


def slabinfo_tunables(s):
    """SLUB has no array caches: /proc/slabinfo prints tunables 0 0 0."""
    return 0, 0, 0


def walk_freelist(s, head, what, it, free, problems):
    """Follow the freelist starting at ``it`` through slab ``head``, adding each object
    to ``free``; a pointer outside the slab's objects or one already seen (a cycle, or
    an overlap with a chain walked before) ends it with a line in ``problems``.
    Returns how many objects it held."""
    node = s.pgdat
    start = node.page_offset + (head << node.page_shift)
    end = start + (node.page_size << node.mem_map.order[head])
    n = 0
    while it:
        if not start <= it < end or slab_debug.obj_index(s, head, it) is None:
            problems.append(f"{s.name} slab {head:#x}: {what} freelist points at {it:#x}, "
                            "not an object of the slab")
            break
        if it in free:
            problems.append(f"{s.name} slab {head:#x}: {what} freelist cycle or overlap "
                            f"at {it:#x}")
            break
        free.add(it)
        n += 1
        it = get_freepointer(s, it)
    return n


def free_objects_of_slab(s, head):
    """The slab's freelist plus every CPU's freelist of it, while CPUs are idle.
    Returns (set of addresses, problems)."""
    node = s.pgdat
    mm = node.mem_map
    problems = []
    free = set()
    co = mm.slab_counters[head]
    objects = slab_objects(co)
    chains = [("slab", mm.slab_freelist[head])]
    for cpu in range(node.nr_cpus):
        c = kcc_row(s, cpu)
        if s.kcc[c + KCC_SLAB] == head + 1:
            chains.append((f"CPU {cpu}", s.kcc[c + KCC_FREELIST]))
    for what, it in chains:
        n = walk_freelist(s, head, what, it, free, problems)
        if what == "slab" and n != objects - slab_inuse(co):
            problems.append(f"{s.name} slab {head:#x}: Wrong object count: freelist has {n}, "
                            f"counters say objects {objects} inuse {slab_inuse(co)}")
    return free, problems


def check_cache(s):
    """Each node's partial list holds slabs of that node's pages only, as many as
    its nr_partial says (a slab on another node's list is a remote free that
    went to the freeing CPU's node instead of the owner's)."""
    problems = []
    st = s.state
    mm = s.mm
    limit = s.pgdat.nr_pages
    for n in s.node:
        pfn = st.lhead[n.lbase + LIST_PARTIAL]
        count = 0
        while pfn != NIL and count <= limit:
            if s.node_lists and slab_nid(s, pfn) != n.nid:
                problems.append(f"{s.name}: slab {pfn:#x} of node {slab_nid(s, pfn)} is on "
                                f"node {n.nid}'s partial list")
            count += 1
            pfn = mm.next[pfn]
        if count != st.node[n.base + KN_NR_PARTIAL]:
            problems.append(f"{s.name}: node {n.nid} partial list holds {count} slabs, "
                            f"nr_partial is {st.node[n.base + KN_NR_PARTIAL]}")
    return problems
