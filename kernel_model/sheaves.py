"""SLUB with per-CPU sheaves (mm/slub.c of Linux 7.0): the third slab allocator.

Read against mm/slub.c with the "sheaves for all" series in (Vlastimil Babka,
RFC v2 of 12 January 2026, the 7.0 cycle; the text read carries no version
tag, but it has no kmem_cache_cpu left): 6.18 had sheaves only for caches
that asked for them (``kmem_cache_args.sheaf_capacity``, and not for debug
caches); the series gives them to every cache but the debug and bootstrap
ones and removes the CPU slab (``kmem_cache_cpu``, the tid transaction) and
the per-CPU partial lists.
What is left of SLUB underneath is the slab layer, in ``sheaves_slabs.py``
(refill_objects, __slab_free, ___slab_alloc) over ``slub.py``'s struct slab
helpers (new_slab, add_partial, slab_update_freelist, discard_slab) and its
locked debug route.

    struct slab_sheaf          {size, capacity, cache, objects[]}: an array
                               of free object addresses
    struct slub_percpu_sheaves {local_trylock_t lock; main; spare}: main is
                               never NULL, spare is empty, full or NULL
    struct node_barn           {lock, sheaves_full, sheaves_empty, nr_full,
                               nr_empty}, one per NUMA node (sheaves_barn.py):
                               full and empty sheaves shared by the CPUs of
                               the node

    slab_alloc_node     alloc_from_pcs: objects[--main->size]; an empty main
                        goes to __pcs_replace_empty_main: a non-empty spare
                        becomes main, else barn_replace_empty_sheaf trades it
                        for a full one, else (may the caller sleep?) the spare
                        or a barn empty sheaf is refill_sheaf()ed with the lock
                        dropped (refill_objects: slabs taken off the node
                        partial list in bulk, get_partial_node_bulk, then
                        new slabs).  If all that fails, ___slab_alloc takes one
                        object from a partial slab or a new slab.
    do_slab_free        free_to_pcs: objects[main->size++] = obj; a full main
                        goes to __pcs_replace_full_main: a barn empty sheaf
                        becomes main (the old one spare), a non-full spare is
                        swapped in, barn_replace_full_sheaf trades the full
                        main for an empty one -- or, with MAX_FULL_SHEAVES in
                        the barn, the full spare is flushed to its slabs
                        (sheaf_flush_unused) and reused.  Failing that, the
                        object goes to its slab (__slab_free).
    flush               pcs_flush_all (this CPU), __pcs_flush_all_cpu (an idle
                        CPU), barn_shrink: every sheaf's objects back to their
                        slabs by __kmem_cache_free_bulk.

NUMA (nodes > 1): slabs are on the lists of their own node (s.node[nid],
sheaves_slabs.py); each CPU trades sheaves with its node's barn.  A free
goes to this CPU's sheaves only when the object is of this CPU's node
(slab_free: slab_nid(slab) == numa_mem_id()); another node's object goes
straight to its slab (__slab_free, under the owner's list_lock).  Sheaves
are refilled from this node first, then from other nodes' partial slabs,
so they may hold remote objects; alloc_from_pcs with a node named gives
up (ALLOC_NODE_MISMATCH) for another node than this CPU's, or when the
object on top is of another node, and the slab layer serves it.

Caller-owned prefilled sheaves (kmem_cache_prefill_sheaf and friends, the
maple tree's API) are in sheaf_prefill.py.

sheaf_capacity (calculate_sheaf_capacity of 7.0): 4 objects when s->size >=
PAGE_SIZE, 12 from 1024 bytes, 26 from 256, else 60 -- then rounded up so
that struct slab_sheaf (32 bytes + 8 per object) is exactly a kmalloc size:
4, 12, 28, 60.  kmem_cache_create(..., sheaf_capacity=N) asks for at least
N.  kmalloc caches get the same formula (7.0 gives them sheaves too, after
bootstrap_kmalloc_sheaves).  SLAB_CONSISTENCY_CHECKS caches have none and go
the kernel's locked debug route (alloc_single_from_*, free_to_partial_list).

Arena sections (C = MAX_CACHES, N = nr_cpus, P = sheaves_per_cache(N))::

    slub_percpu_sheaves u64[C * N * 2]    [(cache * N + cpu) * 2 + PCS_*]:
                                          0 main, 1 spare (sheaf id + 1, 0 NULL)
    node_barn           u64[C * M * 8]    one row per cache and node:
                                          sheaves_barn.py (M = NUMA nodes)
    slab_sheaf          u64[C * P * 128]  sheaf id g = cache * P + k at g * 128:
                                          0 size, 1 capacity, 2 next (barn list
                                          or free-slot link, id + 1), 3 in use
                                          (0 free slot, 1 the allocator's, 2 a
                                          caller's prefilled one), 4.. objects[124]
    sheaf_stat          u64[C * N * 13]   SHEAF_STAT_NAMES, per CPU

Who writes what: a CPU's ``slub_percpu_sheaves`` row and the sheaves it
points to are written only by that CPU with interrupts off (the kernel's
local_trylock; every idle CPU's by flush_all).  Barn rows, the barn lists,
the free sheaf slots and every sheaf on a barn list only under barn->lock.
A sheaf taken off the barn or the row (to refill or flush it) belongs to the
CPU that took it until it puts it back.  The sheaf's ``cache`` is implicit:
a cache's sheaves are the P slots of its own.

Lock order (mm/slub.c 7.0): slab_mutex -> cpu_sheaves->lock (irqs off) ->
barn->lock -> node->list_lock -> slab_lock.  refill and flush run with the
cpu_sheaves lock dropped, as the kernel's do.

Differences from the kernel, all deliberate:
- local_trylock_t is modelled as interrupts off on its CPU (local_irq_save),
  as the classic SLAB's array cache: no interrupt runs while a CPU holds its
  sheaves, so the trylock never fails (the kernel's trylock fails in an
  interrupt that came in on a held lock, and that allocation goes to the
  slab).  The per-CPU checker sees each section as "irq".
- struct slab_sheaf is kzalloc'ed in the kernel; here a cache has P sheaf
  slots in the arena (4N + MAX_FULL_SHEAVES + MAX_EMPTY_SHEAVES + 8), taken
  and given back under barn->lock.  None left is alloc_empty_sheaf's NULL,
  which every caller handles.  Capacity at most SHEAF_MAX_CAPACITY (124),
  oversize prefilled sheaves included.
- Debug caches keep their sheaves (the kernel gives SLAB_DEBUG_FLAGS caches
  none): the debug data is written by the alloc/free hooks on the sheaf
  paths, as KASAN does, so the checkers see the lock-free per-CPU paths (the
  same choice as slub.py).  SLAB_CONSISTENCY_CHECKS keeps the locked route.
- A sheaf whose refill failed half way is flushed before it is freed.  The
  7.0 text read frees it with free_empty_sheaf alone in
  __pcs_replace_empty_main and alloc_full_sheaf, which appears to leak the
  objects refill_objects did get (only when memory runs out).
- kmem_cache_shrink flushes the calling CPU's sheaves and the barn; the
  kernel queues flush work on every CPU.  kmem_cache_destroy flushes every
  CPU from the caller (correct while the others are idle), as slub.py does.
- __kmem_cache_free_bulk groups a batch by slab (build_detached_freelist
  looks ahead three objects); no pfmemalloc, no rcu_free sheaf
  (kfree_rcu), no kmalloc_nolock.

Planted bug (kernel_model.planted): ``sheaves_no_irq`` pops and pushes the
main sheaf without the local lock (interrupts stay on; an interrupt between
the read of main->size and its write hands out or loses an object).
"""

from . import context, debug, planted, slab_debug, slub, spinlock
from .context import local_irq_restore, local_irq_save
from .gfp import __GFP_DIRECT_RECLAIM, __GFP_NOMEMALLOC, __GFP_ZERO
from .page_alloc import NUMA_NO_NODE
from .sheaves_barn import (BARN_EMPTY, BARN_FULL, BARN_LOCK, BARN_NF, BARN_NR_EMPTY,  # noqa: F401
                           BARN_NR_FULL, BARN_POOL, BARN_POOL_FREE, E2BIG, ENOMEM,
                           MAX_EMPTY_SHEAVES, MAX_FULL_SHEAVES, SH_CAPACITY, SH_INUSE, SH_NEXT,
                           SH_OBJECTS, SH_SIZE, SHEAF_NF, barn_get_empty_sheaf,
                           barn_get_full_or_empty_sheaf, barn_put_empty_sheaf,
                           barn_put_full_sheaf, barn_replace_empty_sheaf,
                           barn_replace_full_sheaf, barn_row, barn_take_all, node_barn,
                           PCS_MAIN, PCS_NF, PCS_SPARE, SHEAF_CALLER, SHEAF_KERNEL,
                           SHEAF_MAX_CAPACITY, SHEAF_UNUSED)
from .sheaves_check import (cached_objects, check_sheaves, free_objects_of_slab,  # noqa: F401
                            pcs_sheaves)
from .sheaves_slabs import (__kmem_cache_free_bulk, __slab_free, ___slab_alloc,  # noqa: F401
                            refill_objects)
from . import slab_common as sc
from .slab_common import (KC_ALLOCFLAGS, KC_ALIGN, KC_CPU_PARTIAL_SLABS, KC_FLAGS, KC_INUSE,
                          KC_MIN_PARTIAL, KC_NF, KC_OBJECT_SIZE, KC_OBJECTS, KC_OFFSET, KC_ORDER,
                          KC_RED_LEFT_PAD, KC_SHEAF_CAPACITY, KC_SIZE,
                          KN_NR_SLABS, KN_TOTAL_OBJECTS, NR_STAT, SLAB_CONSISTENCY_CHECKS)

name = "sheaves"

PCS_BATCH_MAX = 32                 # objects a sheaf_flush_main batch moves under the lock
SHEAF_HEADER = 32                  # sizeof(struct slab_sheaf) without objects[], 64-bit
NR_CALLER_SHEAVES = 8              # slots for sheaves callers hold (prefill) and for races
KMALLOC_SIZES = (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192)

# enum stat_item of 7.0, the sheaf and barn items (the rest are slab_common's)
SHEAF_STAT_NAMES = ("sheaf_flush", "sheaf_refill", "sheaf_alloc", "sheaf_free", "barn_get",
                    "barn_get_fail", "barn_put", "barn_put_fail", "sheaf_prefill_fast",
                    "sheaf_prefill_slow", "sheaf_prefill_oversize", "sheaf_return_fast",
                    "sheaf_return_slow")
(SHEAF_FLUSH, SHEAF_REFILL, SHEAF_ALLOC, SHEAF_FREE, BARN_GET, BARN_GET_FAIL, BARN_PUT,
 BARN_PUT_FAIL, SHEAF_PREFILL_FAST, SHEAF_PREFILL_SLOW, SHEAF_PREFILL_OVERSIZE,
 SHEAF_RETURN_FAST, SHEAF_RETURN_SLOW) = range(len(SHEAF_STAT_NAMES))
NR_SHEAF_STAT = len(SHEAF_STAT_NAMES)


def sheaves_per_cache(nr_cpus):
    """Sheaf slots of one cache: main, spare and one in flight per CPU, one spare
    more per CPU for races, the barn at its limits, and caller-held sheaves."""
    return 4 * nr_cpus + MAX_FULL_SHEAVES + MAX_EMPTY_SHEAVES + NR_CALLER_SHEAVES


def arena_sections(nr_cpus, nr_nodes=1):
    c = sc.MAX_CACHES
    return [("slub_percpu_sheaves", "Q", c * nr_cpus * PCS_NF),
            ("node_barn", "Q", c * nr_nodes * BARN_NF),
            ("slab_sheaf", "Q", c * sheaves_per_cache(nr_cpus) * SHEAF_NF),
            ("sheaf_stat", "Q", c * nr_cpus * NR_SHEAF_STAT)]


def init(state):
    """Boot-time setup of this allocator's per-process handles (before fork)."""
    v = state.pgdat.arena.v
    state.pcs = v["slub_percpu_sheaves"]
    state.barn = v["node_barn"]
    state.sheaf = v["slab_sheaf"]
    state.sheaf_stat = v["sheaf_stat"]


def _lock_by_id(pool, lid):
    """A spinlock_t handle for lock ``lid`` made by another process (as kmem_cache's list_lock)."""
    lock = object.__new__(spinlock.spinlock_t)
    lock.id, lock.name, lock.sem, lock.owner, lock.stat = (
        lid, pool.name_of(lid), pool.sems[lid], pool.owner, pool.stat)
    lock.cls = pool.classes[lid]
    return lock


def bind_cache(s):
    st = s.state
    n = st.pgdat.nr_cpus
    s.statv = st.stat
    s.data_q = st.data_q
    s.fp_base = s.page_offset - s.offset
    s.mm = st.pgdat.mem_map
    s.locked = bool(s.flags & SLAB_CONSISTENCY_CHECKS)
    s.pcs = st.pcs
    s.pcs_base = s.id * n * PCS_NF
    s.sh = st.sheaf
    s.nr_sheaves = sheaves_per_cache(n)
    s.sheaf_first = s.id * s.nr_sheaves
    s.barn = st.barn
    s.node_lists = True                        # each slab on its own node's lists
    s.numa = st.pgdat.nr_nodes > 1
    s.shstat = st.sheaf_stat
    s.shstat_base = s.id * n * NR_SHEAF_STAT
    s.sheaf_capacity = st.kc[s.id * KC_NF + KC_SHEAF_CAPACITY]
    m = st.pgdat.nr_nodes
    rows = [barn_row(s.id, nid, m) for nid in range(m)]
    s.barns = [node_barn(nid, r, _lock_by_id(st.pgdat.locks, s.barn[r + BARN_LOCK])
                         if s.sheaf_capacity else None) for nid, r in enumerate(rows)]
    s.cpu_barn = [s.barns[nid] for nid in st.pgdat.numa.cpu_to_node]     # get_barn(s) per CPU
    s.cpu_node = st.pgdat.numa.cpu_to_node
    s.pool_base = rows[0]                      # the free sheaf slots: node 0's barn row
    s.pool_lock = s.barns[0].lock
    s.pcs_what = "cpu_sheaves:" + s.name


def slab_base(s, head):
    return 0


# -- sizes ------------------------------------------------------------------------------
def kmalloc_size_roundup(size):
    for k in KMALLOC_SIZES:
        if size <= k:
            return k
    return 1 << (size - 1).bit_length()


def calculate_sheaf_capacity(size, flags, page_size, asked):
    """mm/slub.c 7.0 calculate_sheaf_capacity(); 0 means no sheaves."""
    if flags & SLAB_CONSISTENCY_CHECKS:
        return 0
    if size >= page_size:
        capacity = 4
    elif size >= 1024:
        capacity = 12
    elif size >= 256:
        capacity = 26
    else:
        capacity = 60
    capacity = (kmalloc_size_roundup(SHEAF_HEADER + 8 * capacity) - SHEAF_HEADER) // 8
    return max(capacity, asked)


def __kmem_cache_create(st, cid, ctor):
    kc = st.kc
    b = cid * KC_NF
    node = st.pgdat
    r = slub.calculate_sizes(kc[b + KC_OBJECT_SIZE], kc[b + KC_ALIGN], kc[b + KC_FLAGS],
                             ctor is not None, node.page_shift, node.nr_cpus)
    if r is None:
        return False
    size, offset, inuse, rlp, order, objects, flags = r
    cap = calculate_sheaf_capacity(size, flags, node.page_size, kc[b + KC_SHEAF_CAPACITY])
    name = bytes(st.names[cid * sc.NAME_LEN:(cid + 1) * sc.NAME_LEN]).rstrip(b"\0").decode()
    if cap > SHEAF_MAX_CAPACITY:
        debug.hooks.report("kmem-cache-create",
                           f"kmem_cache_create({name}): sheaf_capacity {cap} is more than the "
                           f"model's sheaf slots hold ({SHEAF_MAX_CAPACITY})")
        return False
    kc[b + KC_SIZE], kc[b + KC_OFFSET], kc[b + KC_INUSE] = size, offset, inuse
    kc[b + KC_RED_LEFT_PAD], kc[b + KC_ORDER], kc[b + KC_OBJECTS] = rlp, order, objects
    kc[b + KC_FLAGS] = flags
    kc[b + KC_ALLOCFLAGS] = sc.cache_allocflags(flags)
    kc[b + KC_MIN_PARTIAL] = min(slub.MAX_PARTIAL,
                                 max(slub.MIN_PARTIAL, (size.bit_length() - 1) // 2))
    kc[b + KC_CPU_PARTIAL_SLABS] = 0               # 7.0 has no per-CPU partial slabs
    kc[b + KC_SHEAF_CAPACITY] = cap
    n = node.nr_cpus
    for i in range(cid * n * NR_SHEAF_STAT, (cid + 1) * n * NR_SHEAF_STAT):
        st.sheaf_stat[i] = 0
    m = node.nr_nodes
    for nid in range(m):
        bb = barn_row(cid, nid, m)
        for i in range(BARN_NF):
            st.barn[bb + i] = 0
    bb = barn_row(cid, 0, m)                    # node 0's row keeps the free sheaf slots
    for i in range(cid * n * PCS_NF, (cid + 1) * n * PCS_NF):
        st.pcs[i] = 0
    if not cap:
        return True
    # barn_init + init_percpu_sheaves: every CPU's main is an empty sheaf
    for nid in range(m):
        where = f"{name}/{nid}" if nid else name
        st.barn[barn_row(cid, nid, m) + BARN_LOCK] = spinlock.spin_lock_init(
            node.locks, f"&barn->lock[{where}]").id
    nr = sheaves_per_cache(n)
    first = cid * nr
    sh = st.sheaf
    for k in range(nr):
        g = (first + k) * SHEAF_NF
        sh[g + SH_SIZE] = 0
        sh[g + SH_CAPACITY] = cap
        if k < n:
            sh[g + SH_INUSE], sh[g + SH_NEXT] = SHEAF_KERNEL, 0
            st.pcs[(cid * n + k) * PCS_NF + PCS_MAIN] = first + k + 1
        else:
            sh[g + SH_INUSE] = SHEAF_UNUSED
            sh[g + SH_NEXT] = first + k + 2 if k + 1 < nr else 0
    st.barn[bb + BARN_POOL] = first + n + 1
    st.barn[bb + BARN_POOL_FREE] = nr - n
    return True


# -- small helpers ----------------------------------------------------------------------
def _stat(s, item, n=1):
    s.statv[s.stat_base + context.this_cpu.id * NR_STAT + item] += n


def sheaf_stat(s, item, n=1):
    s.shstat[s.shstat_base + context.this_cpu.id * NR_SHEAF_STAT + item] += n


def sheaf_stats(s):
    """{name: count} of the sheaf and barn items, summed over CPUs."""
    n = s.pgdat.nr_cpus
    v = s.shstat
    return {nm: sum(v[s.shstat_base + c * NR_SHEAF_STAT + i] for c in range(n))
            for i, nm in enumerate(SHEAF_STAT_NAMES)}


def sheaf_size(s, g):
    return s.sh[g * SHEAF_NF + SH_SIZE]


def sheaf_objects(s, g):
    """The objects a sheaf holds, bottom first."""
    b = g * SHEAF_NF + SH_OBJECTS
    return list(s.sh[b:b + s.sh[g * SHEAF_NF + SH_SIZE]])


def get_barn(s):
    """The barn of this CPU's node."""
    return s.cpu_barn[context.this_cpu.id]


def barn_counts(s, nid=None):
    """(nr_full, nr_empty) of node ``nid``'s barn (default: this CPU's node's)."""
    from_ = get_barn(s) if nid is None else s.barns[nid]
    return s.barn[from_.base + BARN_NR_FULL], s.barn[from_.base + BARN_NR_EMPTY]


def pcs_lock(s, cid):
    """local_lock(&s->cpu_sheaves->lock): interrupts off on this CPU."""
    flags = local_irq_save()
    debug.hooks.percpu_enter(s.pcs_what, cid, "irq")
    return flags


def pcs_unlock(s, cid, flags):
    debug.hooks.percpu_exit(s.pcs_what, cid)
    local_irq_restore(flags)


# -- sheaf slots (the kernel's kzalloc/kfree of struct slab_sheaf) -----------------------------
def __alloc_empty_sheaf(s, capacity):
    """A free sheaf slot, or None (kzalloc's NULL)."""
    b = s.pool_base
    lock = s.pool_lock
    flags = spinlock.spin_lock_irqsave(lock)
    g1 = s.barn[b + BARN_POOL]
    if g1:
        s.barn[b + BARN_POOL] = s.sh[(g1 - 1) * SHEAF_NF + SH_NEXT]
        s.barn[b + BARN_POOL_FREE] -= 1
    spinlock.spin_unlock_irqrestore(lock, flags)
    if not g1:
        return None
    w = (g1 - 1) * SHEAF_NF
    s.sh[w + SH_SIZE], s.sh[w + SH_CAPACITY] = 0, capacity
    s.sh[w + SH_NEXT], s.sh[w + SH_INUSE] = 0, SHEAF_KERNEL
    sheaf_stat(s, SHEAF_ALLOC)
    return g1 - 1


def alloc_empty_sheaf(s):
    return __alloc_empty_sheaf(s, s.sheaf_capacity)


def free_empty_sheaf(s, g):
    w = g * SHEAF_NF
    s.sh[w + SH_INUSE] = SHEAF_UNUSED
    s.sh[w + SH_SIZE] = 0
    b = s.pool_base
    flags = spinlock.spin_lock_irqsave(s.pool_lock)
    s.sh[w + SH_NEXT] = s.barn[b + BARN_POOL]
    s.barn[b + BARN_POOL] = g + 1
    s.barn[b + BARN_POOL_FREE] += 1
    spinlock.spin_unlock_irqrestore(s.pool_lock, flags)
    sheaf_stat(s, SHEAF_FREE)


# -- the barns --------------------------------------------------------------------------------
def barn_shrink(s, barn):
    """Every sheaf of a barn: full ones flushed to their slabs, all given back."""
    full, empty = barn_take_all(s, barn)
    for g in full:
        sheaf_flush_unused(s, g)
        free_empty_sheaf(s, g)
    for g in empty:
        free_empty_sheaf(s, g)


# -- sheaves: refill and flush ---------------------------------------------------------------------
def sheaf_push(s, g, objs):
    w = g * SHEAF_NF
    size = s.sh[w + SH_SIZE]
    base = w + SH_OBJECTS + size
    sh = s.sh
    for i, obj in enumerate(objs):
        sh[base + i] = obj
    sh[w + SH_SIZE] = size + len(objs)


def refill_sheaf(s, g, gfp):
    """Fill a sheaf (not linked to any CPU) to capacity; 0 or ENOMEM."""
    w = g * SHEAF_NF
    to_fill = s.sheaf_capacity - s.sh[w + SH_SIZE]
    if to_fill <= 0:
        return 0
    objs = refill_objects(s, gfp, to_fill, to_fill)
    sheaf_push(s, g, objs)
    sheaf_stat(s, SHEAF_REFILL, len(objs))
    return ENOMEM if len(objs) < to_fill else 0


def sheaf_flush_unused(s, g):
    """All objects of a sheaf no CPU points to back to their slabs."""
    w = g * SHEAF_NF
    size = s.sh[w + SH_SIZE]
    if not size:
        return
    sheaf_stat(s, SHEAF_FLUSH, size)
    objs = list(s.sh[w + SH_OBJECTS:w + SH_OBJECTS + size])
    s.sh[w + SH_SIZE] = 0
    __kmem_cache_free_bulk(s, objs)


def _free_failed_sheaf(s, g):
    """A sheaf whose refill failed: flushed (see the docstring) and given back."""
    sheaf_flush_unused(s, g)
    free_empty_sheaf(s, g)


def alloc_full_sheaf(s, gfp):
    g = alloc_empty_sheaf(s)
    if g is None:
        return None
    if refill_sheaf(s, g, gfp | __GFP_NOMEMALLOC):
        _free_failed_sheaf(s, g)
        return None
    return g


def sheaf_flush_main(s):
    """This CPU's main sheaf to the slabs, PCS_BATCH_MAX objects per locked step."""
    cid = context.this_cpu.id
    p = s.pcs_base + cid * PCS_NF
    ret = False
    while True:
        flags = pcs_lock(s, cid)
        w = (s.pcs[p + PCS_MAIN] - 1) * SHEAF_NF
        size = s.sh[w + SH_SIZE]
        batch = min(PCS_BATCH_MAX, size)
        remaining = size - batch
        objs = list(s.sh[w + SH_OBJECTS + remaining:w + SH_OBJECTS + size])
        s.sh[w + SH_SIZE] = remaining
        pcs_unlock(s, cid, flags)
        __kmem_cache_free_bulk(s, objs)
        sheaf_stat(s, SHEAF_FLUSH, batch)
        ret = True
        if not remaining:
            return ret


def pcs_flush_all(s):
    """This CPU's sheaves to the slabs (the spare given back, main left empty)."""
    cid = context.this_cpu.id
    p = s.pcs_base + cid * PCS_NF
    flags = pcs_lock(s, cid)
    spare = s.pcs[p + PCS_SPARE]
    s.pcs[p + PCS_SPARE] = 0
    pcs_unlock(s, cid, flags)
    if spare:
        sheaf_flush_unused(s, spare - 1)
        free_empty_sheaf(s, spare - 1)
    sheaf_flush_main(s)


def __pcs_flush_all_cpu(s, cpu):
    """An idle CPU's sheaves to the slabs (the CPU is not running: no lock)."""
    p = s.pcs_base + cpu * PCS_NF
    debug.hooks.percpu_enter(s.pcs_what, cpu, "remote")
    main = s.pcs[p + PCS_MAIN] - 1
    spare = s.pcs[p + PCS_SPARE]
    s.pcs[p + PCS_SPARE] = 0
    debug.hooks.percpu_exit(s.pcs_what, cpu)
    sheaf_flush_unused(s, main)
    if spare:
        sheaf_flush_unused(s, spare - 1)
        free_empty_sheaf(s, spare - 1)


# -- sheaves: the per-CPU paths -------------------------------------------------------------
def __pcs_replace_empty_main(s, p, gfp, cid, irqflags):
    """Locked, with main empty: a main with objects (locked, its id) or -1 (unlocked)."""
    pcs = s.pcs
    sh = s.sh
    main = pcs[p + PCS_MAIN] - 1
    spare = pcs[p + PCS_SPARE]
    if spare and sh[(spare - 1) * SHEAF_NF + SH_SIZE]:
        pcs[p + PCS_MAIN], pcs[p + PCS_SPARE] = spare, main + 1
        return spare - 1
    barn = s.cpu_barn[cid]
    full = barn_replace_empty_sheaf(s, barn, main)
    if full is not None:
        sheaf_stat(s, BARN_GET)
        pcs[p + PCS_MAIN] = full + 1
        return full
    sheaf_stat(s, BARN_GET_FAIL)
    can_alloc = bool(gfp & __GFP_DIRECT_RECLAIM)         # gfpflags_allow_blocking
    empty = None
    if can_alloc:
        if spare:
            empty = spare - 1
            pcs[p + PCS_SPARE] = 0
        else:
            empty = barn_get_empty_sheaf(s, barn)
    pcs_unlock(s, cid, irqflags)
    if not can_alloc:
        return -1
    if empty is not None:
        if not refill_sheaf(s, empty, gfp | __GFP_NOMEMALLOC):
            full = empty
        else:
            _free_failed_sheaf(s, empty)                 # low on memory: not to the barn
    else:
        full = alloc_full_sheaf(s, gfp)
    if full is None:
        return -1
    pcs_lock(s, cid)                                    # same flags: irqs as the caller had them
    main = pcs[p + PCS_MAIN] - 1
    spare = pcs[p + PCS_SPARE]
    if not sh[main * SHEAF_NF + SH_SIZE]:
        if not spare:
            pcs[p + PCS_SPARE] = main + 1
        else:
            barn_put_empty_sheaf(s, barn, main)
        pcs[p + PCS_MAIN] = full + 1
        return full
    if not spare:
        pcs[p + PCS_SPARE] = full + 1
    elif not sh[(spare - 1) * SHEAF_NF + SH_SIZE]:
        barn_put_empty_sheaf(s, barn, spare - 1)
        pcs[p + PCS_SPARE] = full + 1
    else:
        barn_put_full_sheaf(s, barn, full)
        sheaf_stat(s, BARN_PUT)
    return main


def alloc_from_pcs(s, gfp, node=NUMA_NO_NODE):
    """objects[--main->size] under the local lock; 0 when the sheaves cannot serve
    (or, with ``node`` named, when it is not this CPU's node or the object on top
    is of another node: ALLOC_NODE_MISMATCH)."""
    cid = context.this_cpu.id
    if node >= 0 and node != s.cpu_node[cid]:          # node >= 0: not NUMA_NO_NODE
        _stat(s, sc.ALLOC_NODE_MISMATCH)
        return 0
    p = s.pcs_base + cid * PCS_NF
    sh = s.sh
    hooks = debug.fast_hooks                        # None: no checker listens (debug.py)
    nolock = planted.sheaves_no_irq
    flags = None if nolock else local_irq_save()
    if hooks is not None:
        hooks.percpu_enter(s.pcs_what, cid, "irq")
    w = (s.pcs[p] - 1) * SHEAF_NF
    size = sh[w]
    if not size:
        if nolock:
            flags = local_irq_save()
        main = __pcs_replace_empty_main(s, p, gfp, cid, flags)
        if main < 0:
            return 0
        w = main * SHEAF_NF
        size = sh[w]
    elif nolock:
        obj = sh[w + SH_OBJECTS + size - 1]
        if node >= 0 and _node_mismatch(s, obj, node, cid, flags):
            return 0
        if hooks is not None:
            hooks.slab_tid_window("alloc_from_pcs", cid)   # an interrupt may come here
        sh[w] = size - 1
        if hooks is not None:
            hooks.percpu_exit(s.pcs_what, cid)
        s.statv[s.stat_base + cid * NR_STAT + sc.ALLOC_FASTPATH] += 1
        return obj
    obj = sh[w + SH_OBJECTS + size - 1]
    if node >= 0 and _node_mismatch(s, obj, node, cid, flags):
        return 0
    sh[w] = size - 1
    if hooks is not None:
        hooks.percpu_exit(s.pcs_what, cid)
    local_irq_restore(flags)
    s.statv[s.stat_base + cid * NR_STAT + sc.ALLOC_FASTPATH] += 1
    return obj


def _node_mismatch(s, obj, node, cid, flags):
    """The object on top of main is of another node than asked: unlock and say so
    (a sheaf refilled from another node's partial slabs)."""
    pgdat = s.pgdat
    if pgdat.page_to_nid(pgdat.virt_to_pfn(obj)) == node:
        return False
    debug.hooks.percpu_exit(s.pcs_what, cid)
    if flags is not None:                      # None: the planted bug took no lock
        local_irq_restore(flags)
    _stat(s, sc.ALLOC_NODE_MISMATCH)
    return True


def __pcs_install_empty_sheaf(s, p, barn, empty):
    pcs = s.pcs
    sh = s.sh
    main = pcs[p + PCS_MAIN] - 1
    spare = pcs[p + PCS_SPARE]
    cap = s.sheaf_capacity
    if not spare:
        pcs[p + PCS_SPARE] = main + 1
        pcs[p + PCS_MAIN] = empty + 1
        return
    if sh[main * SHEAF_NF + SH_SIZE] < cap:
        barn_put_empty_sheaf(s, barn, empty)
        return
    if sh[(spare - 1) * SHEAF_NF + SH_SIZE] < cap:
        pcs[p + PCS_MAIN], pcs[p + PCS_SPARE] = spare, main + 1
        barn_put_empty_sheaf(s, barn, empty)
        return
    barn_put_full_sheaf(s, barn, main)
    sheaf_stat(s, BARN_PUT)
    pcs[p + PCS_MAIN] = empty + 1


def __pcs_replace_full_main(s, p, cid, irqflags):
    """Locked, with main full: a main with room (locked, its id) or -1 (unlocked)."""
    pcs = s.pcs
    sh = s.sh
    cap = s.sheaf_capacity
    barn = s.cpu_barn[cid]
    while True:                                          # restart:
        main = pcs[p + PCS_MAIN] - 1
        spare = pcs[p + PCS_SPARE]
        put_fail = False
        empty = None
        if not spare:
            empty = barn_get_empty_sheaf(s, barn)
            if empty is not None:
                pcs[p + PCS_SPARE] = main + 1
                pcs[p + PCS_MAIN] = empty + 1
                return empty
        elif sh[(spare - 1) * SHEAF_NF + SH_SIZE] < cap:
            pcs[p + PCS_MAIN], pcs[p + PCS_SPARE] = spare, main + 1
            return spare - 1
        else:
            r = barn_replace_full_sheaf(s, barn, main)
            if r >= 0:
                sheaf_stat(s, BARN_PUT)
                pcs[p + PCS_MAIN] = r + 1
                return r
            if r == E2BIG:                               # the barn is full: flush the spare
                sheaf_stat(s, BARN_PUT_FAIL)
                pcs[p + PCS_SPARE] = 0
                pcs_unlock(s, cid, irqflags)
                sheaf_flush_unused(s, spare - 1)
                empty = spare - 1
            else:
                put_fail = True
        if empty is None:                                # alloc_empty:
            pcs_unlock(s, cid, irqflags)
            empty = alloc_empty_sheaf(s)
            if empty is None:
                if put_fail:
                    sheaf_stat(s, BARN_PUT_FAIL)
                if not sheaf_flush_main(s):
                    return -1
                pcs_lock(s, cid)
                if sh[(pcs[p + PCS_MAIN] - 1) * SHEAF_NF + SH_SIZE] == cap:
                    continue
                return pcs[p + PCS_MAIN] - 1
        pcs_lock(s, cid)                                # got_empty:
        __pcs_install_empty_sheaf(s, p, barn, empty)
        return pcs[p + PCS_MAIN] - 1


def free_to_pcs(s, obj):
    """objects[main->size++] = obj under the local lock; False when it cannot."""
    cid = context.this_cpu.id
    p = s.pcs_base + cid * PCS_NF
    sh = s.sh
    hooks = debug.fast_hooks                        # None: no checker listens (debug.py)
    nolock = planted.sheaves_no_irq
    flags = None if nolock else local_irq_save()
    if hooks is not None:
        hooks.percpu_enter(s.pcs_what, cid, "irq")
    w = (s.pcs[p] - 1) * SHEAF_NF
    size = sh[w]
    if size == s.sheaf_capacity:
        if nolock:
            flags = local_irq_save()
        main = __pcs_replace_full_main(s, p, cid, flags)
        if main < 0:
            return False
        w = main * SHEAF_NF
        size = sh[w]
    elif nolock:
        if hooks is not None:
            hooks.slab_tid_window("free_to_pcs", cid)      # an interrupt may come here
        sh[w + SH_OBJECTS + size] = obj
        sh[w] = size + 1
        if hooks is not None:
            hooks.percpu_exit(s.pcs_what, cid)
        s.statv[s.stat_base + cid * NR_STAT + sc.FREE_FASTPATH] += 1
        return True
    sh[w + SH_OBJECTS + size] = obj
    sh[w] = size + 1
    if hooks is not None:
        hooks.percpu_exit(s.pcs_what, cid)
    local_irq_restore(flags)
    s.statv[s.stat_base + cid * NR_STAT + sc.FREE_FASTPATH] += 1
    return True


# -- entry points (the allocator contract) ---------------------------------------------------------
def slab_alloc_node(s, gfp, orig_size, node=NUMA_NO_NODE):
    """Allocate one object (of ``node`` if named); returns its address or 0 (NULL)."""
    hooks = debug.fast_hooks                        # None: no checker listens (debug.py)
    if hooks is not None and not slub.slab_pre_alloc_hook(hooks, s, gfp):
        return 0
    if s.locked:
        obj, pfn = slub.alloc_single(s, gfp, node)
    else:
        obj = alloc_from_pcs(s, gfp, node) if s.sheaf_capacity else 0
        if not obj:
            obj = ___slab_alloc(s, gfp, node)
        pfn = None
    if not obj:
        return 0
    if s.debug or gfp & __GFP_ZERO or hooks is not None:
        return slab_post_alloc_hook(s, gfp, obj, pfn, orig_size)
    return obj


def slab_post_alloc_hook(s, gfp, obj, pfn, orig_size):
    """slab_post_alloc_hook: SLUB's (debug data, __GFP_ZERO, the KASAN-style hook);
    ``pfn`` None: the object came from the sheaves, its slab is looked up."""
    if s.debug and pfn is None:
        pfn = sc.virt_to_slab(s.pgdat, obj)
    slub.slab_post_alloc_hook(s, debug.fast_hooks, gfp, obj, pfn, orig_size)
    return obj


def do_slab_free(s, pfn, obj):
    """slab_free: to this CPU's sheaves when the object is of this CPU's node
    (any object with one node), else to its slab."""
    if s.locked:
        slub.free_to_partial_list(s, pfn, obj)
        return
    if s.sheaf_capacity and (not s.numa or s.pgdat.page_to_nid(pfn) ==
                             s.cpu_node[context.this_cpu.id]) and free_to_pcs(s, obj):
        return
    __slab_free(s, pfn, obj, obj, 1)
    _stat(s, sc.FREE_SLOWPATH)


def flush_all(s):
    """Every CPU's sheaves to the slabs: this CPU's under its lock, the others'
    as for a CPU that is not running (correct when they are idle, as
    kmem_cache_destroy's callers make sure; the kernel sends flush work)."""
    if not s.sheaf_capacity:
        return
    me = context.this_cpu.id
    for cpu in range(s.pgdat.nr_cpus):
        if cpu == me:
            pcs_flush_all(s)
        else:
            __pcs_flush_all_cpu(s, cpu)


def __kmem_cache_shrink(s):
    """This CPU's sheaves and the barn to the slabs; empty slabs freed.  Returns pages."""
    if s.sheaf_capacity:
        pcs_flush_all(s)
        for barn in s.barns:
            barn_shrink(s, barn)
    return slub._drop_empty_partials(s)


def __kmem_cache_shutdown(s):
    """Flush every CPU and the barn, free empty slabs; returns the objects left."""
    if s.sheaf_capacity:
        flush_all(s)
        for barn in s.barns:
            barn_shrink(s, barn)
    slub._drop_empty_partials(s)
    return slub._node_sum(s, KN_TOTAL_OBJECTS) - slub.count_free(s)


def slabinfo_counts(s):
    """(active_objs, num_objs, active_slabs, num_slabs) as 7.0's get_slabinfo:
    objects in sheaves are in use as far as their slabs know, so they count as
    active (count_partial_free_approx sees only the partial list)."""
    nr_slabs = slub._node_sum(s, KN_NR_SLABS)
    total = slub._node_sum(s, KN_TOTAL_OBJECTS)
    return total - slub.count_free(s), total, nr_slabs, nr_slabs


def slabinfo_tunables(s):
    """/proc/slabinfo's tunables columns: SLUB with sheaves has no SLAB array
    caches, so 0 0 0 as SLUB prints (the sheaf capacity is in sysfs, not here)."""
    return 0, 0, 0


def check_cache(s):
    """The contract's check (slab_h.SlabAllocator.check_cache): each node's partial
    list holds only that node's slabs, as many as nr_partial says (slub.py's
    check), and every sheaf slot is in one place (check_sheaves)."""
    return slub.check_cache(s) + check_sheaves(s)
