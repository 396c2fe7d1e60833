"""What every slab allocator shares: struct kmem_cache, the cache registry,
kmem_cache_create / destroy / shrink, kmalloc_fix_flags, the kmem_cache
entry points and the whole-allocator consistency check.

Read against mm/slab_common.c of Linux 6.12.  The allocator behind a node is
a module that satisfies ``slab_h.SlabAllocator`` (``state.allocator``);
nothing here asks which one it is.  The per-object debug data (poison, red
zones, tracks, KASAN quarantine) is slab_debug.py; boot is mm_init.py.  The
slab flag values are the hex values of include/linux/slab.h up to 6.8; 6.9
turned them into a config-dependent bit enum, which a model cannot pin, so
the classic values are kept.

Caches are made at run time (after the CPUs fork), so everything a cache needs
lives in fixed-capacity arena sections preallocated at boot, and any CPU can
rebuild a cache's ``kmem_cache`` handle from its row (``cache_by_id``).

Arena sections (C = MAX_CACHES, N = nr_cpus)::

    slab_meta         q[8]             0 allocator (1 + its index in
                                       slab_h.ALLOCATORS), 1 next cache id,
                                       2 debug rows per page (0: no debug data)
    kmem_cache_meta   q[C * KC_NF]     one row per cache: the KC_* fields below
    kmem_cache_name   u8[C * 32]       NUL padded
    kmem_cache_stat   u64[C*N*NR_STAT] SLUB_STATS-like counters, per CPU (the
                                       kernel's are per CPU too); summed to read;
                                       slot = stat_slot(s, cpu, item)
    kmem_cache_node   q[C * M * KN_NF] kmem_cache_node scalars (KN_* below), row
                                       cid * M + nid (M = the NUMA nodes)
    kmem_cache_lhead  u32[C * M * 3]   list heads (pfn of a slab's head page):
    kmem_cache_ltail  u32[C * M * 3]   0 partial, 1 full, 2 free (SLAB only),
                                       at (cid * M + nid) * 3;
                                       links in page_lru_next/prev

Per node (s->node[nid], get_node(s, nid)): a ``kmem_cache_node`` handle with
its list_lock (lock id in KN_LIST_LOCK), its KN row and its lists.  Every
allocator (SLUB, the classic SLAB, sheaves) keeps each slab on the lists of
the node its pages are on (slab_nid; ``s.node_lists``); ``s.list_lock``,
``s.node_base``, ``s.lbase`` are node 0's.
  plus slab_debug.py's sections with debug data, and the allocator's own.

Lock order (mm/slub.c): slab_mutex -> node->list_lock -> kmem_cache_cpu
(irqs off) -> slab_lock.
"""

import numpy as np

from . import context, debug, slab_debug, spinlock
from .gfp import (GFP_SLAB_BUG_MASK, __GFP_COMP, __GFP_DMA, __GFP_DMA32, __GFP_RECLAIMABLE,
                  __GFP_ZERO, format_gfp)
from .page import PGTY_slab
from .slab_debug import (OBJ_ALLOCATED, OBJ_FREE, OBJ_QUARANTINED, OBJ_STATE_NAMES,  # noqa: F401
                         POISON_END, POISON_FREE, POISON_INUSE, SLUB_RED_ACTIVE,
                         SLUB_RED_INACTIVE, TRACK_ALLOC, TRACK_FREE, WRAPPER_FILES, caller_text,
                         object_info, quarantine_flush)
from .slab_h import (slab_counters, slab_frozen, slab_inuse, slab_objects,  # noqa: F401
                     slab_state, virt_to_slab)

# Names above marked F401 are re-exported: checkers and tests read the debug
# vocabulary and the struct slab helpers through slab_common, as before the split.

# include/linux/slab.h (pre-6.9 values, see the docstring)
SLAB_CONSISTENCY_CHECKS = 0x00000100
SLAB_RED_ZONE = 0x00000400
SLAB_POISON = 0x00000800
SLAB_KMALLOC = 0x00001000
SLAB_HWCACHE_ALIGN = 0x00002000
SLAB_CACHE_DMA = 0x00004000
SLAB_CACHE_DMA32 = 0x00008000
SLAB_STORE_USER = 0x00010000
SLAB_RECLAIM_ACCOUNT = 0x00020000
SLAB_PANIC = 0x00040000
SLAB_TYPESAFE_BY_RCU = 0x00080000
SLAB_ACCOUNT = 0x04000000
__OBJECT_POISON = 0x80000000
OBJECT_POISON = __OBJECT_POISON      # an unmangled name for use inside classes
# slub_debug with no options: F, Z, P, U.  The model's per-object data needs U.
SLAB_DEBUG_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
SLAB_MODEL_DEBUG = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
SLUB_DEBUG_LETTERS = {"F": SLAB_CONSISTENCY_CHECKS, "Z": SLAB_RED_ZONE, "P": SLAB_POISON,
                      "U": SLAB_STORE_USER}


def slub_debug_flags(value):
    """boot(slub_debug=...) -> the SLAB_* flags every cache gets: True the model's
    PZU, False or "-" none, a string of F/Z/P/U letters those (mm/slub.c
    parse_slub_debug_flags)."""
    if value is True:
        return SLAB_MODEL_DEBUG
    if not value or value == "-":
        return 0
    flags = 0
    for c in str(value).upper():
        if c not in SLUB_DEBUG_LETTERS:
            raise ValueError(f"slub_debug={value!r}: {c!r} is not one of F, Z, P, U")
        flags |= SLUB_DEBUG_LETTERS[c]
    return flags

ARCH_KMALLOC_MINALIGN = 8
CACHE_LINE_SIZE = 64
MAX_CACHES = 128
NAME_LEN = 32
NR_SLAB_LOCKS = 16                # the hashed slab_lock pool (SlabState.slab_locks)
DEBUG_MIN_OBJECT = slab_debug.DEBUG_MIN_OBJECT

# kmem_cache_meta fields
(KC_ALIVE, KC_OBJECT_SIZE, KC_SIZE, KC_ALIGN, KC_OFFSET, KC_INUSE, KC_RED_LEFT_PAD,
 KC_ORDER, KC_OBJECTS, KC_FLAGS, KC_ALLOCFLAGS, KC_MIN_PARTIAL, KC_CPU_PARTIAL_SLABS,
 KC_LIST_LOCK, KC_COLOUR, KC_COLOUR_OFF, KC_LIMIT, KC_BATCH, KC_REFCOUNT,
 KC_FREELIST_SIZE) = range(20)
KC_SHEAF_CAPACITY = 20    # kmem_cache_args.sheaf_capacity (asked), then s->sheaf_capacity (sheaves)
KC_NF = 24
# kmem_cache_node fields
(KN_NR_PARTIAL, KN_NR_SLABS, KN_TOTAL_OBJECTS, KN_NR_FULL, KN_COLOUR_NEXT, KN_FREE_OBJECTS,
 KN_NR_FREE, KN_LIST_LOCK) = range(8)
KN_NF = 8
LIST_PARTIAL, LIST_FULL, LIST_FREE = 0, 1, 2

# SLUB_STATS items (enum stat_item of mm/slub.c), the ones the model counts;
# the name of item i is STAT_NAMES[i] (/sys/kernel/slab/<cache>/<name>).
(ALLOC_FASTPATH, ALLOC_SLOWPATH, FREE_FASTPATH, FREE_SLOWPATH, FREE_FROZEN, FREE_ADD_PARTIAL,
 FREE_REMOVE_PARTIAL, ALLOC_FROM_PARTIAL, ALLOC_SLAB, ALLOC_REFILL, ALLOC_NODE_MISMATCH,
 FREE_SLAB, CPUSLAB_FLUSH, DEACTIVATE_FULL, DEACTIVATE_EMPTY, DEACTIVATE_TO_HEAD,
 DEACTIVATE_TO_TAIL, DEACTIVATE_REMOTE_FREES, DEACTIVATE_BYPASS, CMPXCHG_DOUBLE_FAIL,
 CMPXCHG_DOUBLE_CPU_FAIL, CPU_PARTIAL_ALLOC, CPU_PARTIAL_FREE, CPU_PARTIAL_NODE,
 CPU_PARTIAL_DRAIN, ALLOC_LOCKED) = range(26)
STAT_NAMES = ("alloc_fastpath", "alloc_slowpath", "free_fastpath", "free_slowpath",
              "free_frozen", "free_add_partial", "free_remove_partial", "alloc_from_partial",
              "alloc_slab", "alloc_refill", "alloc_node_mismatch", "free_slab", "cpuslab_flush",
              "deactivate_full", "deactivate_empty", "deactivate_to_head", "deactivate_to_tail",
              "deactivate_remote_frees", "deactivate_bypass", "cmpxchg_double_fail",
              "cmpxchg_double_cpu_fail", "cpu_partial_alloc", "cpu_partial_free",
              "cpu_partial_node", "cpu_partial_drain", "alloc_locked")
assert all(globals()[n.upper()] == i for i, n in enumerate(STAT_NAMES))  # one order, two spellings
NR_STAT = len(STAT_NAMES)


def stat_slot(s, cpu, item):
    """Index in kmem_cache_stat of ``item`` of cache ``s`` on CPU ``cpu``."""
    return s.stat_base + cpu * NR_STAT + item


def ALIGN(x, a):
    return (x + a - 1) // a * a


def get_order(size, page_shift=12):
    order = 0
    while (1 << (order + page_shift)) < size:
        order += 1
    return order


def arena_sections(nr_cpus, nr_nodes=1):
    c = MAX_CACHES
    m = nr_nodes
    return [("slab_meta", "q", 8), ("kmem_cache_meta", "q", c * KC_NF),
            ("kmem_cache_name", "B", c * NAME_LEN), ("kmem_cache_stat", "Q", c * nr_cpus * NR_STAT),
            ("kmem_cache_node", "q", c * m * KN_NF), ("kmem_cache_lhead", "I", c * m * 3),
            ("kmem_cache_ltail", "I", c * m * 3)]


def _lock_handle(pool, lid):
    """A spinlock_t for lock ``lid`` made by another process (at kmem_cache_create)."""
    lock = object.__new__(spinlock.spinlock_t)
    lock.id, lock.name, lock.sem, lock.owner, lock.stat = (
        lid, pool.name_of(lid), pool.sems[lid], pool.owner, pool.stat)
    lock.cls = pool.classes[lid]           # lockdep's class, as spin_lock_init sets it
    return lock


class kmem_cache_node:
    """s->node[nid]: one node's slab lists of a cache (rows in the arena)."""

    __slots__ = ("nid", "list_lock", "base", "lbase")

    def __init__(self, state, cid, nid):
        row = cid * state.pgdat.nr_nodes + nid
        self.nid = nid
        self.base = row * KN_NF              # state.node[base + KN_*]
        self.lbase = row * 3                 # state.lhead/ltail[lbase + LIST_*]
        self.list_lock = _lock_handle(state.pgdat.locks, state.node[self.base + KN_LIST_LOCK])

    def __repr__(self):
        return f"<kmem_cache_node {self.nid}>"


def get_node(s, nid):
    return s.node[nid]


class SlabState:
    """Per-process handles of the slab sections of one node (``pgdat.slab``)."""

    def __init__(self, pgdat, allocator, debug_data):
        v = pgdat.arena.v
        self.pgdat = pgdat
        self.allocator = allocator            # the module (slab_h.SlabAllocator)
        self.meta = v["slab_meta"]
        self.kc = v["kmem_cache_meta"]
        self.names = v["kmem_cache_name"]
        self.stat = v["kmem_cache_stat"]
        self.node = v["kmem_cache_node"]
        self.lhead = v["kmem_cache_lhead"]
        self.ltail = v["kmem_cache_ltail"]
        self.debug = debug_data
        self.rows_per_page = 0
        if debug_data:
            slab_debug.init(self, pgdat.page_size)
        self.data_q = pgdat.data.cast("Q")     # 8-byte words of page data
        self.caches = [None] * MAX_CACHES      # id -> kmem_cache bound in this process, or None
        self.slab_alloc_node = allocator.slab_alloc_node     # the allocator's entry points
        self.do_slab_free = allocator.do_slab_free
        self.site_ids = {}                     # (code, line) -> site id (this process)
        self.quarantine = []                   # this CPU's quarantined (cache, addr)
        self.quarantine_max = 0
        self.slab_mutex = None
        self.slab_locks = []
        self.kmalloc_caches = {}               # (type, index) -> kmem_cache

    def cache_by_id(self, cid):
        """The kmem_cache of an id, rebuilt from its arena row if this CPU lacks it;
        None for an id no live cache has."""
        if not 0 <= cid < MAX_CACHES:
            return None
        s = self.caches[cid]
        if s is None:
            if not self.kc[cid * KC_NF + KC_ALIVE]:
                return None
            s = kmem_cache(self, cid)
            self.caches[cid] = s
        return s

    def release(self):
        for mv in [self.data_q] + getattr(self, "extra_views", []):
            try:
                mv.release()
            except Exception:
                pass


class kmem_cache:
    """struct kmem_cache: the arena row of one cache, bound in this process.

    Plain attributes are copies of fields that never change after creation;
    anything that changes (node lists, counters, per-CPU data) is read from
    the arena.
    """

    def __init__(self, state, cid):
        kc = state.kc
        b = cid * KC_NF
        self.id = cid
        self.state = state
        self.pgdat = state.pgdat
        self.name = bytes(state.names[cid * NAME_LEN:(cid + 1) * NAME_LEN]).rstrip(b"\0").decode()
        self.object_size = kc[b + KC_OBJECT_SIZE]
        self.size = kc[b + KC_SIZE]
        self.align = kc[b + KC_ALIGN]
        self.offset = kc[b + KC_OFFSET]
        self.inuse = kc[b + KC_INUSE]
        self.red_left_pad = kc[b + KC_RED_LEFT_PAD]
        self.order = kc[b + KC_ORDER]
        self.objects = kc[b + KC_OBJECTS]
        self.flags = kc[b + KC_FLAGS] & 0xFFFFFFFF
        self.allocflags = kc[b + KC_ALLOCFLAGS]
        self.min_partial = kc[b + KC_MIN_PARTIAL]
        self.cpu_partial_slabs = kc[b + KC_CPU_PARTIAL_SLABS]
        self.colour = kc[b + KC_COLOUR]
        self.colour_off = kc[b + KC_COLOUR_OFF]
        self.limit = kc[b + KC_LIMIT]
        self.batchcount = kc[b + KC_BATCH]
        self.freelist_size = kc[b + KC_FREELIST_SIZE]
        self.ctor = None
        self.node = [kmem_cache_node(state, cid, nid) for nid in range(state.pgdat.nr_nodes)]
        self.list_lock = self.node[0].list_lock      # node 0's
        self.node_base = self.node[0].base
        self.lbase = self.node[0].lbase
        self.node_lists = False                      # the allocator's bind_cache: per-node lists
        self.stat_base = cid * state.pgdat.nr_cpus * NR_STAT
        self.debug = bool(self.flags & SLAB_STORE_USER) and bool(state.debug)
        self.poison = bool(self.flags & OBJECT_POISON)
        self.redzone = bool(self.flags & SLAB_RED_ZONE)
        self.kmalloc = bool(self.flags & SLAB_KMALLOC)
        self.slab_bytes = state.pgdat.page_size << self.order
        self.page_offset = state.pgdat.page_offset
        self.page_shift = state.pgdat.page_shift
        self.cache_ref = cid + 1               # the value of slab_cache[pfn]
        self.free_checks = slab_debug.free_checks(self)
        # the one compare of an allocation when the free pattern is contiguous
        self.free_check1 = self.free_checks[0] if len(self.free_checks) == 1 else None
        self.rz_active = bytes((SLUB_RED_ACTIVE,)) * (self.red_left_pad + self.inuse)
        self.rz_left = bytes((SLUB_RED_ACTIVE,)) * self.red_left_pad
        state.allocator.bind_cache(self)

    def __repr__(self):
        return f"<kmem_cache {self.name}>"


def stat(s, item, n=1):
    """Count a SLUB_STATS event on this CPU."""
    s.state.stat[stat_slot(s, context.this_cpu.id, item)] += n


def slab_stats(s):
    """{name: count} summed over CPUs (/sys/kernel/slab/<cache>/<stat>)."""
    st = s.state.stat
    n = s.pgdat.nr_cpus
    return {name: sum(st[stat_slot(s, c, i)] for c in range(n))
            for i, name in enumerate(STAT_NAMES)}


# -- the registry -------------------------------------------------------------
def cache_by_id(state, cid):
    """The kmem_cache of an id, rebuilt from its arena row if this CPU lacks it."""
    return state.cache_by_id(cid)


def find_cache(name, pgdat=None):
    st = slab_state(pgdat)
    for cid in range(st.meta[1]):
        if st.kc[cid * KC_NF + KC_ALIVE]:
            s = cache_by_id(st, cid)
            if s.name == name:
                return s
    return None


def all_caches(pgdat=None):
    st = slab_state(pgdat)
    return [cache_by_id(st, cid) for cid in range(st.meta[1]) if st.kc[cid * KC_NF + KC_ALIVE]]


def cache_allocflags(flags):
    """s->allocflags: the gfp bits every slab of a cache is allocated with (__GFP_COMP,
    and the zone/mobility its SLAB_CACHE_DMA/DMA32/SLAB_RECLAIM_ACCOUNT flags ask for)."""
    allocflags = __GFP_COMP
    if flags & SLAB_CACHE_DMA:
        allocflags |= __GFP_DMA
    if flags & SLAB_CACHE_DMA32:
        allocflags |= __GFP_DMA32
    if flags & SLAB_RECLAIM_ACCOUNT:
        allocflags |= __GFP_RECLAIMABLE
    return allocflags


def calculate_alignment(flags, align, size):
    """mm/slab_common.c calculate_alignment()."""
    if flags & SLAB_HWCACHE_ALIGN:
        ralign = CACHE_LINE_SIZE
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, ARCH_KMALLOC_MINALIGN)
    return ALIGN(align, 8)


def kmem_cache_create(name, size, align=0, flags=0, ctor=None, pgdat=None, sheaf_capacity=0):
    """Create a cache; returns the kmem_cache, or None (the kernel's NULL).

    ``flags`` may carry SLAB_* bits; boot(slub_debug=True) adds
    SLAB_MODEL_DEBUG to every cache, as ``slub_debug=PZU`` on the command line.
    ``sheaf_capacity`` is kmem_cache_args.sheaf_capacity (Linux 6.18+): the
    least number of objects a per-CPU sheaf holds; only the sheaves allocator
    reads it.
    """
    if not isinstance(sheaf_capacity, int) or sheaf_capacity < 0:
        raise ValueError(f"kmem_cache_create({name!r}): sheaf_capacity must be an integer >= 0, "
                         f"not {sheaf_capacity!r}")
    st = slab_state(pgdat)
    node = st.pgdat
    if not name or size < 1 or size > (node.page_size << 10):
        debug.hooks.report("kmem-cache-create", f"kmem_cache_create({name!r}, {size}): bad size")
        return None
    if node.slub_debug:
        flags |= getattr(node, "slub_debug_flags", SLAB_MODEL_DEBUG)
    if not st.debug:
        flags &= ~SLAB_STORE_USER
    lock = node.slab.slab_mutex
    spinlock.spin_lock(lock)            # slab_mutex (a mutex in the kernel)
    try:
        cid = st.meta[1]
        if cid >= MAX_CACHES:
            debug.hooks.report("kmem-cache-create",
                               f"kmem_cache_create({name}): out of cache rows ({MAX_CACHES})")
            return None
        st.meta[1] = cid + 1
        b = cid * KC_NF
        kc = st.kc
        for i in range(KC_NF):
            kc[b + i] = 0
        kc[b + KC_OBJECT_SIZE] = size
        kc[b + KC_ALIGN] = calculate_alignment(flags, align, size)
        kc[b + KC_FLAGS] = flags
        kc[b + KC_REFCOUNT] = 1
        kc[b + KC_SHEAF_CAPACITY] = sheaf_capacity
        raw = name.encode()[:NAME_LEN].ljust(NAME_LEN, b"\0")
        st.names[cid * NAME_LEN:(cid + 1) * NAME_LEN] = raw
        n = node.nr_cpus
        for i in range(cid * n * NR_STAT, (cid + 1) * n * NR_STAT):
            st.stat[i] = 0
        if not st.allocator.__kmem_cache_create(st, cid, ctor):
            debug.hooks.report("kmem-cache-create",
                               f"kmem_cache_create({name}) failed: object too large")
            return None
        for nid in range(node.nr_nodes):
            row = cid * node.nr_nodes + nid
            nb = row * KN_NF
            for i in range(KN_NF):
                st.node[nb + i] = 0
            where = f"{name}/{nid}" if nid else name
            st.node[nb + KN_LIST_LOCK] = spinlock.spin_lock_init(
                node.locks, f"&n->list_lock[{where}]").id
            for l in range(3):
                st.lhead[row * 3 + l] = 0xFFFFFFFF
                st.ltail[row * 3 + l] = 0xFFFFFFFF
        kc[b + KC_LIST_LOCK] = st.node[cid * node.nr_nodes * KN_NF + KN_LIST_LOCK]
        kc[b + KC_ALIVE] = 1
    finally:
        spinlock.spin_unlock(lock)
    s = cache_by_id(st, cid)
    s.ctor = ctor
    return s


def kmem_cache_destroy(s):
    """Flush, free empty slabs, and report objects still in use.

    Like __kmem_cache_shutdown, it reports ``Objects remaining in C on
    __kmem_cache_shutdown()`` and then leaves the cache in place (the kernel
    leaks it rather than free live objects).  Returns True if destroyed.
    Every CPU's per-CPU cache is flushed from the caller: correct when the
    other CPUs are idle (the kernel runs flush_all on each CPU by IPI).
    """
    if s is None:
        return False
    st = s.state
    remaining = st.allocator.__kmem_cache_shutdown(s)
    if remaining:
        text = (f"BUG {s.name} (Not tainted): Objects remaining in {s.name} on "
                f"__kmem_cache_shutdown()\n"
                f"kmem_cache_destroy {s.name}: Slab cache still has objects when called from "
                f"{caller_text()}")
        debug.hooks.slab_event("cache_destroy_busy", cache=s.name, remaining=remaining)
        debug.hooks.report("kmem-cache-destroy", text)
        return False
    st.kc[s.id * KC_NF + KC_ALIVE] = 0
    st.caches[s.id] = None
    return True


def kmem_cache_shrink(s):
    """Flush this CPU's slabs and give empty slabs back; returns pages freed."""
    return s.state.allocator.__kmem_cache_shrink(s)


def kmalloc_fix_flags(flags):
    """mm/slab_common.c kmalloc_fix_flags(): strip GFP_SLAB_BUG_MASK and say so."""
    invalid = flags & GFP_SLAB_BUG_MASK
    flags &= ~GFP_SLAB_BUG_MASK
    debug.hooks.report("gfp-slab-bug",
                       f"Unexpected gfp: {invalid:#x} ({format_gfp(invalid)}). Fixing up to gfp: "
                       f"{flags:#x} ({format_gfp(flags)}). Fix your code!")
    return flags


# -- entry points shared by SLUB and SLAB ---------------------------------------
def kmem_cache_alloc(s, gfp):
    """Allocate an object of cache ``s``; its address, or None (NULL)."""
    return s.state.slab_alloc_node(s, gfp, s.object_size) or None


def check_node(pgdat, node, what):
    """A node that does not exist is the caller's bug (the kernel's VM_BUG_ON)."""
    if isinstance(node, bool) or not isinstance(node, int) or not -1 <= node < pgdat.nr_nodes:
        raise ValueError(f"{what}: node {node!r} is not online "
                         f"(nodes 0..{pgdat.nr_nodes - 1}, or NUMA_NO_NODE -1)")


def slab_alloc_node(s, gfp, orig_size, node):
    """The allocator's slab_alloc_node, on ``node`` when it keeps per-node lists
    (``s.node_lists``: SLUB, SLAB and sheaves all do)."""
    alloc = s.state.allocator
    if node == -1 or not s.node_lists:
        return alloc.slab_alloc_node(s, gfp, orig_size)
    return alloc.slab_alloc_node(s, gfp, orig_size, node)


def kmem_cache_alloc_node(s, gfp, node):
    """kmem_cache_alloc from NUMA node ``node`` (-1, NUMA_NO_NODE: no preference, as
    kmem_cache_alloc); with __GFP_THISNODE only from that node."""
    check_node(s.pgdat, node, "kmem_cache_alloc_node")
    return node_alloc_done("kmem_cache_alloc_node", s.pgdat, node,
                           slab_alloc_node(s, gfp, s.object_size, node) or None)


def node_alloc_done(what, pgdat, node, addr):
    """The node_alloc hook of an allocation that named a node; returns ``addr``."""
    if addr is not None and node >= 0:
        pfn = pgdat.virt_to_pfn(addr)
        if pfn is not None:
            debug.hooks.node_alloc(what, node, pgdat.page_to_nid(pfn), addr)
    return addr


def kmem_cache_zalloc(s, gfp):
    return kmem_cache_alloc(s, gfp | __GFP_ZERO)


def slab_free(s, head, obj):
    """slab_free(): the KASAN/debug hook, the quarantine, then the allocator."""
    fh = debug.fast_hooks                  # None: no checker listens (debug.py)
    if fh is not None:
        fh.slab_free(s.name, obj)          # slab_free_hook(): KASAN's point
    if s.debug:
        st = s.state
        q = st.quarantine_max > 0
        if not slab_debug.slab_free_debug(s, head, obj, q):
            return
        if q:
            for s2, o2 in slab_debug.quarantine_put(s, obj):
                s2.state.allocator.do_slab_free(s2, slab_debug.quarantine_release(s2, o2), o2)
            return
    s.state.do_slab_free(s, head, obj)



def kmem_cache_free(s, obj):
    """Free an object of cache ``s``.  A pointer of another cache is reported
    (``kmem_cache_free: Wrong slab cache``) and freed to its real cache, as
    cache_from_obj() does; an address outside any slab is an invalid free."""
    if not obj:
        return
    st = s.state
    head = virt_to_slab(st.pgdat, obj)
    if head is None:
        debug.hooks.slab_free(s.name, obj)
        debug.hooks.invalid_free(s.name, obj, f"kmem_cache_free({s.name}, {obj:#x}): "
                                 "outside of slab")
        return
    cid = st.pgdat.mem_map.slab_cache[head] - 1
    if cid != s.id:
        real = cache_by_id(st, cid)
        debug.hooks.slab_event("wrong_cache", cache=s.name, addr=obj,
                               real=real.name if real else "?")
        debug.hooks.report("wrong-cache", f"kmem_cache_free: Wrong slab cache. {s.name} but "
                           f"object is from {real.name if real else '?'}")
        if real is None:
            return
        s = real
    slab_free(s, head, obj)


# -- whole-allocator consistency (for tests and quiescent checkers) -------------------
def check_slabs(pgdat, held=None):
    """Every slab's free objects and the allocated objects partition its objects.

    ``held``: addresses the caller believes are allocated; None (the end of a
    run): the objects the debug state says are allocated, so a leaked object
    counts as allocated -- a leak is kmemleak's to report, never corruption --
    and slabs of caches without debug data are checked for their freelists
    alone (who holds their objects is not known).  A slab whose slab->freelist
    lies outside it keeps its index array in a kmalloc object (the classic
    SLAB's OFF_SLAB): that object is held, by the slab.  Returns problems.
    """
    st = slab_state(pgdat)
    mm = pgdat.mem_map
    problems = []
    from_state = held is None
    held = set(held or ())
    heads = np.nonzero(np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab)[0]
    for head in heads:
        fl = int(mm.slab_freelist[head])
        start = pgdat.page_offset + (int(head) << pgdat.page_shift)
        if fl and not start <= fl < start + (pgdat.page_size << mm.order[head]):
            held.add(fl)
    seen_held = set()
    for head in heads:
        head = int(head)
        s = cache_by_id(st, mm.slab_cache[head] - 1)
        if s is None:
            problems.append(f"slab {head:#x} of a destroyed cache")
            continue
        free, probs = st.allocator.free_objects_of_slab(s, head)
        problems += probs
        start = pgdat.page_offset + (head << pgdat.page_shift)
        end = start + (pgdat.page_size << mm.order[head])
        if from_state:
            if not (st.debug and s.debug):
                continue
            objects = slab_objects(mm.slab_counters[head])
            base = start + st.allocator.slab_base(s, head) + s.red_left_pad
            r0 = head * st.rows_per_page
            state = np.frombuffer(st.obj_state, dtype=np.uint8)[r0:r0 + objects]   # quarantined: parked, not free
            held |= {base + int(i) * s.size for i in np.nonzero(state != OBJ_FREE)[0]}
        mine = {a for a in held if start <= a < end}
        seen_held |= mine
        both = mine & free
        if both:
            problems.append(f"{s.name}: allocated objects on a freelist: "
                            f"{[hex(a) for a in sorted(both)[:3]]}")
        objects = slab_objects(mm.slab_counters[head])
        if len(free) + len(mine) != objects:
            problems.append(f"{s.name} slab {head:#x}: {len(free)} free + {len(mine)} held "
                            f"!= {objects} objects")
    for s in all_caches(pgdat):
        problems += st.allocator.check_cache(s)
    lost = {a for a in held if virt_to_slab(pgdat, a) is not None} - seen_held
    if lost:
        problems.append(f"held objects outside any slab: {[hex(a) for a in sorted(lost)[:3]]}")
    return problems

