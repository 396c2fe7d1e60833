"""What SLUB and the classic SLAB share: struct kmem_cache, the cache registry,
kmem_cache_create / destroy / shrink, kmalloc_fix_flags, and the debug data.

Read against mm/slab_common.c and mm/slab.h of Linux 6.12 (and mm/slub.c for
the debug byte values).  The slab flag values are the hex values of
include/linux/slab.h up to 6.8; 6.9 turned them into a config-dependent bit
enum, which a model cannot pin, so the classic values are kept.

Caches are made at run time (after the CPUs fork), so everything a cache needs
lives in fixed-capacity arena sections preallocated at boot, and any CPU can
rebuild a cache's ``kmem_cache`` handle from its row (``cache_by_id``).

Arena sections (C = MAX_CACHES, N = nr_cpus, R = debug rows)::

    slab_meta         q[8]             0 allocator (1 slub, 2 slab), 1 next cache id,
                                       2 debug rows per page (0: no debug data)
    kmem_cache_meta   q[C * KC_NF]     one row per cache: the KC_* fields below
    kmem_cache_name   u8[C * 32]       NUL padded
    kmem_cache_stat   u64[C*N*NR_STAT] SLUB_STATS-like counters, per CPU (the
                                       kernel's are per CPU too); summed to read
    kmem_cache_node   q[C * KN_NF]     kmem_cache_node scalars (KN_* below)
    kmem_cache_lhead  u32[C * 3]       list heads (pfn of a slab's head page):
    kmem_cache_ltail  u32[C * 3]       0 partial, 1 full, 2 free (SLAB only);
                                       links in page_lru_next/prev
  debug data (only with boot(slab_debug=True)); row = head_pfn * rows_per_page + index:
    slab_obj_state    u8[R]            OBJ_FREE / OBJ_ALLOCATED / OBJ_QUARANTINED
    slab_track_seq    u64[2R]          [2*row + TRACK_ALLOC|TRACK_FREE] cpu.seq
    slab_track_site   u32[2R]          caller site id (slab_site_name), 0 none
    slab_track_where  u16[2R]          (cpu + 1) << 2 | context, 0 none
    slab_track_pid    u32[2R]          cpu.pid at the time
    slab_orig_size    u32[R]           size asked for (kmalloc), else object_size
    slab_site_name    u8[N * SITES * 64]  per-CPU site table ("file:line (func)")
    slab_site_count   u32[N]           sites used by each CPU (only it writes)

41 bytes a debug row.  rows_per_page = PAGE_SIZE / 32: a debug cache's object
is at least 32 bytes (SLUB adds two struct tracks of 32 bytes; the classic
SLAB model pads debug objects to 32), so an order-k slab's objects fit the
rows of its 2**k page frames, which no other slab owns.

Lock order (mm/slub.c): slab_mutex -> node->list_lock -> kmem_cache_cpu
(irqs off) -> slab_lock.
"""

import sys

from . import context, debug
from .errors import ConfigError
from .gfp import GFP_SLAB_BUG_MASK, format_gfp

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

# include/linux/poison.h
POISON_INUSE = 0x5A       # slab padding
POISON_FREE = 0x6B        # a freed object
POISON_END = 0xA5         # the last byte of a freed object
SLUB_RED_INACTIVE = 0xBB  # redzone of a free object
SLUB_RED_ACTIVE = 0xCC    # redzone of an allocated object

ARCH_KMALLOC_MINALIGN = 8
CACHE_LINE_SIZE = 64
MAX_CACHES = 128
NAME_LEN = 32
DEBUG_MIN_OBJECT = 32
SITES_PER_CPU = 1024
SITE_LEN = 64

# kmem_cache_meta fields
(KC_ALIVE, KC_OBJECT_SIZE, KC_SIZE, KC_ALIGN, KC_OFFSET, KC_INUSE, KC_RED_LEFT_PAD,
 KC_ORDER, KC_OBJECTS, KC_FLAGS, KC_ALLOCFLAGS, KC_MIN_PARTIAL, KC_CPU_PARTIAL_SLABS,
 KC_LIST_LOCK, KC_COLOUR, KC_COLOUR_OFF, KC_LIMIT, KC_BATCH, KC_REFCOUNT,
 KC_FREELIST_SIZE) = range(20)
KC_NF = 24
# kmem_cache_node fields
(KN_NR_PARTIAL, KN_NR_SLABS, KN_TOTAL_OBJECTS, KN_NR_FULL, KN_COLOUR_NEXT, KN_FREE_OBJECTS,
 KN_NR_FREE) = range(7)
KN_NF = 8
LIST_PARTIAL, LIST_FULL, LIST_FREE = 0, 1, 2

# SLUB_STATS items (enum stat_item of mm/slub.c), the ones the model counts.
STAT_NAMES = ("alloc_fastpath", "alloc_slowpath", "free_fastpath", "free_slowpath",
              "free_frozen", "free_add_partial", "free_remove_partial", "alloc_from_partial",
              "alloc_slab", "alloc_refill", "alloc_node_mismatch", "free_slab",
              "cpuslab_flush", "deactivate_full", "deactivate_empty", "deactivate_to_head",
              "deactivate_to_tail", "deactivate_remote_frees", "deactivate_bypass",
              "cmpxchg_double_fail", "cmpxchg_double_cpu_fail", "cpu_partial_alloc",
              "cpu_partial_free", "cpu_partial_node", "cpu_partial_drain",
              "alloc_locked")
for _i, _n in enumerate(STAT_NAMES):
    globals()[_n.upper()] = _i
NR_STAT = len(STAT_NAMES)

OBJ_FREE, OBJ_ALLOCATED, OBJ_QUARANTINED = 0, 1, 2
OBJ_STATE_NAMES = ("free", "allocated", "quarantined")
TRACK_ALLOC, TRACK_FREE = 0, 1


def ALIGN(x, a):
    return (x + a - 1) // a * a


def get_order(size, page_shift=12):
    order = 0
    while (1 << (order + page_shift)) < size:
        order += 1
    return order


def arena_sections(nr_cpus, nr_pages, page_size, allocator, slab_debug):
    c = MAX_CACHES
    out = [("slab_meta", "q", 8), ("kmem_cache_meta", "q", c * KC_NF),
           ("kmem_cache_name", "B", c * NAME_LEN), ("kmem_cache_stat", "Q", c * nr_cpus * NR_STAT),
           ("kmem_cache_node", "q", c * KN_NF), ("kmem_cache_lhead", "I", c * 3),
           ("kmem_cache_ltail", "I", c * 3)]
    if slab_debug:
        r = nr_pages * (page_size // DEBUG_MIN_OBJECT)
        out += [("slab_obj_state", "B", r), ("slab_track_seq", "Q", 2 * r),
                ("slab_track_site", "I", 2 * r), ("slab_track_where", "H", 2 * r),
                ("slab_track_pid", "I", 2 * r), ("slab_orig_size", "I", r),
                ("slab_site_name", "B", nr_cpus * SITES_PER_CPU * SITE_LEN),
                ("slab_site_count", "I", nr_cpus)]
    return out


class SlabState:
    """Per-process handles of the slab sections of one node (``pgdat.slab``)."""

    def __init__(self, pgdat, allocator, slab_debug):
        a = pgdat.arena
        v = a.v
        self.pgdat = pgdat
        self.allocator = allocator            # the module: slub or slab
        self.meta = v["slab_meta"]
        self.kc = v["kmem_cache_meta"]
        self.names = v["kmem_cache_name"]
        self.stat = v["kmem_cache_stat"]
        self.node = v["kmem_cache_node"]
        self.lhead = v["kmem_cache_lhead"]
        self.ltail = v["kmem_cache_ltail"]
        self.debug = slab_debug
        self.rows_per_page = pgdat.page_size // DEBUG_MIN_OBJECT if slab_debug else 0
        if slab_debug:
            self.obj_state = v["slab_obj_state"]
            self.track_seq = v["slab_track_seq"]
            self.track_site = v["slab_track_site"]
            self.track_where = v["slab_track_where"]
            self.track_pid = v["slab_track_pid"]
            self.orig_size = v["slab_orig_size"]
            self.site_name = v["slab_site_name"]
            self.site_count = v["slab_site_count"]
        self.data_q = pgdat.data.cast("Q")     # 8-byte words of page data
        self.caches = {}                       # id -> kmem_cache (this process)
        self.site_ids = {}                     # (code, line) -> site id (this process)
        self.quarantine = []                   # this CPU's quarantined (cache, addr)
        self.quarantine_max = 0
        self.slab_mutex = None
        self.slab_locks = []
        self.kmalloc_caches = {}               # (type, index) -> kmem_cache

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
        from .spinlock import spinlock_t
        lock = object.__new__(spinlock_t)
        lid = kc[b + KC_LIST_LOCK]
        pool = state.pgdat.locks
        lock.id, lock.name, lock.sem, lock.owner, lock.stat = (
            lid, pool.name_of(lid), pool.sems[lid], pool.owner, pool.stat)
        lock.cls = pool.classes[lid]           # lockdep's class, as spin_lock_init sets it
        self.list_lock = lock
        self.node_base = cid * KN_NF
        self.stat_base = cid * state.pgdat.nr_cpus * NR_STAT
        self.debug = bool(self.flags & SLAB_STORE_USER) and bool(state.debug)
        self.poison = bool(self.flags & OBJECT_POISON)
        self.redzone = bool(self.flags & SLAB_RED_ZONE)
        self.kmalloc = bool(self.flags & SLAB_KMALLOC)
        self.slab_bytes = state.pgdat.page_size << self.order
        self.page_offset = state.pgdat.page_offset
        self.page_shift = state.pgdat.page_shift
        self.cache_ref = cid + 1               # the value of slab_cache[pfn]
        self.free_checks = _free_checks(self)
        # the one compare of an allocation when the free pattern is contiguous
        self.free_check1 = self.free_checks[0] if len(self.free_checks) == 1 else None
        self.rz_active = bytes((SLUB_RED_ACTIVE,)) * (self.red_left_pad + self.inuse)
        self.rz_left = bytes((SLUB_RED_ACTIVE,)) * self.red_left_pad
        state.allocator.bind_cache(self)

    def __repr__(self):
        return f"<kmem_cache {self.name}>"


def stat(s, item, n=1):
    """Count a SLUB_STATS event on this CPU."""
    i = s.stat_base + context.this_cpu.id * NR_STAT + item
    s.state.stat[i] += n


def slab_stats(s):
    """{name: count} summed over CPUs (/sys/kernel/slab/<cache>/<stat>)."""
    st = s.state.stat
    n = s.pgdat.nr_cpus
    return {name: sum(st[s.stat_base + c * NR_STAT + i] for c in range(n))
            for i, name in enumerate(STAT_NAMES)}


# -- the registry -------------------------------------------------------------
def slab_state(pgdat=None):
    from . import pgdat as pgdat_mod
    node = pgdat or pgdat_mod.current()
    if node is None:
        raise RuntimeError("no model booted in this process: call kernel_model.boot() first")
    st = getattr(node, "slab", None)
    if st is None:
        raise ConfigError("this model was booted without a slab allocator: "
                          "boot(..., page_data=True, slab='slub') (or slab='slab')")
    return st


def cache_by_id(state, cid):
    """The kmem_cache of an id, rebuilt from its arena row if this CPU lacks it."""
    s = state.caches.get(cid)
    if s is None:
        if not state.kc[cid * KC_NF + KC_ALIVE]:
            return None
        s = kmem_cache(state, cid)
        state.caches[cid] = s
    return s


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


def calculate_alignment(flags, align, size):
    """mm/slab_common.c calculate_alignment()."""
    if flags & SLAB_HWCACHE_ALIGN:
        ralign = CACHE_LINE_SIZE
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, ARCH_KMALLOC_MINALIGN)
    return ALIGN(align, 8)


def kmem_cache_create(name, size, align=0, flags=0, ctor=None, pgdat=None):
    """Create a cache; returns the kmem_cache, or None (the kernel's NULL).

    ``flags`` may carry SLAB_* bits; boot(slub_debug=True) adds
    SLAB_MODEL_DEBUG to every cache, as ``slub_debug=PZU`` on the command line.
    """
    st = slab_state(pgdat)
    node = st.pgdat
    if not name or size < 1 or size > (node.page_size << 10):
        debug.hooks.report("kmem-cache-create", f"kmem_cache_create({name!r}, {size}): bad size")
        return None
    if node.slub_debug:
        flags |= SLAB_MODEL_DEBUG
    if not st.debug:
        flags &= ~SLAB_STORE_USER
    lock = node.slab.slab_mutex
    from . import spinlock
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
        raw = name.encode()[:NAME_LEN].ljust(NAME_LEN, b"\0")
        st.names[cid * NAME_LEN:(cid + 1) * NAME_LEN] = raw
        if not st.allocator.__kmem_cache_create(st, cid, ctor):
            debug.hooks.report("kmem-cache-create",
                               f"kmem_cache_create({name}) failed: object too large")
            return None
        kc[b + KC_LIST_LOCK] = spinlock.spin_lock_init(node.locks, f"&n->list_lock[{name}]").id
        nb = cid * KN_NF
        for i in range(KN_NF):
            st.node[nb + i] = 0
        for l in range(3):
            st.lhead[cid * 3 + l] = 0xFFFFFFFF
            st.ltail[cid * 3 + l] = 0xFFFFFFFF
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
    st.caches.pop(s.id, None)
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


# -- debug data ------------------------------------------------------------------
_MODEL_DIR = __file__.rsplit("/", 1)[0] + "/"
# Files of API wrappers around the model (the harness's ``k``): the site of an
# allocation is their caller, as the kernel's _RET_IP_ skips inline wrappers.
WRAPPER_FILES = set()


def _outside(f):
    while f is not None and (f.f_code.co_filename.startswith(_MODEL_DIR)
                             or f.f_code.co_filename in WRAPPER_FILES):
        f = f.f_back
    return f


def caller_text():
    f = _outside(sys._getframe(1))
    if f is None:
        return "?"
    return f"{f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_lineno} ({f.f_code.co_name})"


def caller_site(st):
    """Site id of the first caller outside kernel_model and WRAPPER_FILES (interned
    per CPU, no lock)."""
    f = _outside(sys._getframe(1))
    if f is None:
        return 0
    key = (f.f_code, f.f_lineno)
    sid = st.site_ids.get(key)
    if sid is not None:
        return sid
    cpu = context.this_cpu.id
    n = st.site_count[cpu]
    if n + 1 >= SITES_PER_CPU:
        return 0
    n += 1
    text = f"{f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_lineno} ({f.f_code.co_name})"
    raw = text.encode()[:SITE_LEN].ljust(SITE_LEN, b"\0")
    off = (cpu * SITES_PER_CPU + n) * SITE_LEN
    st.site_name[off:off + SITE_LEN] = raw
    st.site_count[cpu] = n
    sid = cpu * SITES_PER_CPU + n
    st.site_ids[key] = sid
    return sid


def site_name(st, sid):
    if not sid:
        return "?"
    off = sid * SITE_LEN
    return bytes(st.site_name[off:off + SITE_LEN]).rstrip(b"\0").decode()


def obj_index(s, pfn, addr):
    """(head pfn, index) of an object address in slab ``pfn``, or None if not an object start."""
    head = pfn
    start = s.page_offset + (head << s.page_shift) + s.state.allocator.slab_base(s, head)
    off = addr - start - s.red_left_pad
    if off < 0 or off % s.size:
        return None
    idx = off // s.size
    if idx >= s.objects:
        return None
    return idx


def debug_row(s, head_pfn, idx):
    return head_pfn * s.state.rows_per_page + idx


def _fill(s, start, n, byte):
    if n > 0:
        off = start - s.page_offset
        s.pgdat.data[off:off + n] = bytes((byte,)) * n


def init_object(s, obj, active, orig_size=None):
    """mm/slub.c init_object(): redzones and (when free) poison in page data."""
    val = SLUB_RED_ACTIVE if active else SLUB_RED_INACTIVE
    if s.redzone:
        _fill(s, obj - s.red_left_pad, s.red_left_pad, val)
        osz = s.object_size
        if active and orig_size is not None and orig_size < osz:
            _fill(s, obj + orig_size, osz - orig_size, val)   # kmalloc: extend the redzone
        _fill(s, obj + osz, s.inuse - osz, val)
    if s.poison and not active:
        _fill(s, obj, s.object_size - 1, POISON_FREE)
        _fill(s, obj + s.object_size - 1, 1, POISON_END)


def _free_checks(s):
    """[(start relative to the object, expected bytes, what)] of a free object:
    check_object(s, slab, object, SLUB_RED_INACTIVE).  A poisoned object with
    red zones is one contiguous pattern (one compare at allocation)."""
    if not s.debug:
        return []
    out = []
    rz = bytes((SLUB_RED_INACTIVE,))
    osz = s.object_size
    if s.redzone and s.red_left_pad:
        out.append((-s.red_left_pad, rz * s.red_left_pad, "Left Redzone"))
    if s.poison:
        out.append((0, bytes((POISON_FREE,)) * (osz - 1) + bytes((POISON_END,)), "Poison"))
    if s.redzone and s.inuse > osz:
        out.append((osz, rz * (s.inuse - osz), "Right Redzone"))
    if s.poison and s.redzone:                 # contiguous: one compare does it
        out = [(out[0][0] if s.red_left_pad else 0, b"".join(r[1] for r in out), None)]
    return out


def _first_bad(s, start, expected):
    """(fault, end, found, wanted) of the first and last byte that differ, or None."""
    off = start - s.page_offset
    got = bytes(s.pgdat.data[off:off + len(expected)])
    if got == expected:
        return None
    i = next(i for i in range(len(got)) if got[i] != expected[i])
    j = next(j for j in range(len(got) - 1, -1, -1) if got[j] != expected[j])
    return start + i, start + j + 1, got[i], expected[i]


def _report_corrupt(s, obj, start, expected, what):
    bad = _first_bad(s, start, expected)
    if bad is None:
        return False
    fault, end, found, wanted = bad
    if what is None:                           # the merged free pattern: name the part
        rel = fault - obj
        what = ("Left Redzone" if rel < 0 else "Right Redzone" if rel >= s.object_size
                else "End Poison" if rel == s.object_size - 1 else "Poison")
    debug.hooks.slab_event("object_corrupt", cache=s.name, addr=obj, what=what, fault=fault,
                           end=end, found=found, expected=wanted)
    return True


def check_object(s, obj, active, orig_size=None):
    """mm/slub.c check_object(): red zones (and poison when free) intact?

    A damaged object is reported (``<what> overwritten`` through the
    object_corrupt slab_event) and its bytes restored, as check_bytes_and_report
    and restore_bytes do.  Returns True if the object was intact.
    """
    data = s.pgdat.data
    po = s.page_offset
    if not active:
        for rel, expected, what in s.free_checks:
            a = obj + rel - po
            if data[a:a + len(expected)] != expected:
                _report_corrupt(s, obj, obj + rel, expected, what)
                init_object(s, obj, False)
                return False
        return True
    if not s.redzone:
        return True
    ok = True
    rlp = s.red_left_pad
    o = obj - po
    if rlp and data[o - rlp:o].tobytes() != s.rz_left:
        ok = not _report_corrupt(s, obj, obj - rlp, s.rz_left, "Left Redzone")
    osz = s.object_size
    start = orig_size if s.kmalloc and orig_size is not None and orig_size < osz else osz
    n = s.inuse - start
    if ok and n > 0 and data[o + start:o + s.inuse].tobytes() != s.rz_active[:n]:
        bad = _first_bad(s, obj + start, s.rz_active[:n])
        what = "kmalloc Redzone" if bad and bad[0] < obj + osz else "Right Redzone"
        ok = not _report_corrupt(s, obj, obj + start, s.rz_active[:n], what)
    if not ok:
        init_object(s, obj, True, start if start < osz else None)
    return ok


def check_freepointer(s, head, obj, fp):
    """check_object()'s free pointer check (check_valid_pointer): the next free
    object recorded in ``obj`` must be NULL or an object of the same slab, and
    never ``obj`` itself (a freelist that loops on one object)."""
    if not fp:
        return True
    if fp == obj:
        what = "Freechain corrupt"
    else:
        first = s.page_offset + (head << s.page_shift) + s.red_left_pad
        off = fp - first
        if 0 <= off and not off % s.size and off // s.size < s.objects:
            return True
        what = "Freepointer corrupt"
    debug.hooks.slab_event("freelist_corrupt", cache=s.name, addr=obj, fp=fp, what=what)
    return False


def set_track(s, row, which, site):
    st = s.state
    cpu = context.this_cpu
    i = 2 * row + which
    st.track_seq[i] = cpu.seq
    st.track_site[i] = site
    st.track_where[i] = (cpu.id + 1) << 2 | cpu.context()
    st.track_pid[i] = cpu.pid


def setup_object_debug(s, head_pfn, obj, idx):
    """A new slab's object: free state, inactive redzone, poison (new_slab)."""
    st = s.state
    row = head_pfn * st.rows_per_page + idx
    st.obj_state[row] = OBJ_FREE
    for w in (2 * row, 2 * row + 1):
        st.track_where[w] = 0
        st.track_site[w] = 0
        st.track_seq[w] = 0
    init_object(s, obj, False)


def slab_post_alloc_debug(s, pfn, obj, orig_size):
    """Record the allocation (state, alloc track, orig size) and arm the redzones."""
    st = s.state
    idx = obj_index(s, pfn, obj)
    if idx is None:
        return
    row = pfn * st.rows_per_page + idx
    if st.obj_state[row] == OBJ_ALLOCATED:
        debug.hooks.slab_event("alloc_allocated", cache=s.name, addr=obj)
    elif s.free_check1 is not None:             # check_object(SLUB_RED_INACTIVE), inlined
        rel, expected, _what = s.free_check1
        a = obj + rel - s.page_offset
        if s.pgdat.data[a:a + len(expected)] != expected:
            check_object(s, obj, False)
    elif s.free_checks:
        check_object(s, obj, False)
    st.obj_state[row] = OBJ_ALLOCATED
    st.orig_size[row] = orig_size
    cpu = context.this_cpu
    cpu.seq += 1
    set_track(s, row, TRACK_ALLOC, caller_site(st))
    init_object(s, obj, True, orig_size if s.kmalloc else None)


def slab_free_debug(s, pfn, obj, quarantine):
    """Check and record a free.  Returns False if the free must not happen.

    A free of an object that is not allocated (free or quarantined) is a
    double free; an address that is not an object start is an invalid free.
    Both are reported through hooks and the object is left alone, as SLUB's
    free_debug_processing and KASAN's kasan_slab_free do.
    """
    st = s.state
    idx = obj_index(s, pfn, obj)
    hooks = debug.hooks
    if idx is None:
        hooks.invalid_free(s.name, obj, f"{s.name}: Invalid object pointer {obj:#x}")
        return False
    row = pfn * st.rows_per_page + idx
    state = st.obj_state[row]
    if state != OBJ_ALLOCATED:
        hooks.double_free(s.name, obj, f"{s.name}: Object {obj:#x} already free "
                          f"({OBJ_STATE_NAMES[state]})")
        return False
    if s.redzone:
        check_object(s, obj, True, st.orig_size[row])   # reported and restored; still freed
    cpu = context.this_cpu
    cpu.seq += 1
    set_track(s, row, TRACK_FREE, caller_site(st))
    hooks.yield_point("access")          # the debug state was read, now written: not one step
    st.obj_state[row] = OBJ_QUARANTINED if quarantine else OBJ_FREE
    init_object(s, obj, False)
    return True


def object_info(addr, pgdat=None):
    """Everything a checker can know about an address in a slab, or None.

    {cache, object (start), offset (addr - object), index, state, object_size,
     orig_size, alloc: {cpu, context, seq, site, pid}, free: {...}}; the
    track and state fields are present only for caches with debug data.
    """
    st = slab_state(pgdat)
    node = st.pgdat
    pfn = node.virt_to_pfn(addr)
    if pfn is None:
        return None
    mm = node.mem_map
    head = pfn
    from .page import PGTY_slab
    if mm.type[pfn] != PGTY_slab:
        # a tail page of a high-order slab: walk back to the head
        while head > 0 and mm.type[head] != PGTY_slab:
            head -= 1
        if mm.type[head] != PGTY_slab or head + (1 << mm.order[head]) <= pfn:
            return None
    s = cache_by_id(st, mm.slab_cache[head] - 1)
    if s is None:
        return None
    base = node.page_offset + (head << node.page_shift) + st.allocator.slab_base(s, head) \
        + s.red_left_pad
    if addr < base - s.red_left_pad:
        return {"cache": s.name, "object": None, "offset": None, "index": None}
    idx = (addr - base + s.red_left_pad) // s.size
    if idx >= s.objects:
        return {"cache": s.name, "object": None, "offset": None, "index": None}
    obj = base + idx * s.size
    info = {"cache": s.name, "object": obj, "offset": addr - obj, "index": idx,
            "object_size": s.object_size, "slab_pfn": head}
    if s.debug:
        row = head * st.rows_per_page + idx
        info["state"] = OBJ_STATE_NAMES[st.obj_state[row]]
        info["orig_size"] = st.orig_size[row]
        for which, key in ((TRACK_ALLOC, "alloc"), (TRACK_FREE, "free")):
            i = 2 * row + which
            where = st.track_where[i]
            info[key] = None if not where else {
                "cpu": (where >> 2) - 1, "context": context.CTX_NAMES[where & 3],
                "seq": st.track_seq[i], "site": site_name(st, st.track_site[i]),
                "pid": st.track_pid[i]}
    return info


def quarantine_put(s, obj):
    """KASAN quarantine (per CPU, process-local FIFO): returns the objects to free now."""
    st = s.state
    q = st.quarantine
    q.append((s, obj))
    out = []
    while len(q) > st.quarantine_max:
        out.append(q.pop(0))
    return out


# -- entry points shared by SLUB and SLAB ---------------------------------------
def virt_to_slab(pgdat, addr):
    """Head pfn of the slab holding ``addr``, or None (not a slab page).

    Both allocators mark a slab the same way: PGTY_slab on the head page,
    slab_cache on every page, page_lru_prev of a tail page = the head pfn.
    """
    pfn = pgdat.virt_to_pfn(addr)
    if pfn is None:
        return None
    mm = pgdat.mem_map
    if mm.type[pfn] == PGTY_slab_:
        return pfn
    if mm.slab_cache[pfn]:
        return mm.prev[pfn]
    return None


from .page import PGTY_slab as PGTY_slab_  # noqa: E402


def kmem_cache_alloc(s, gfp):
    """Allocate an object of cache ``s``; its address, or None (NULL)."""
    return s.state.allocator.slab_alloc_node(s, gfp, s.object_size) or None


def kmem_cache_zalloc(s, gfp):
    from .gfp import __GFP_ZERO as ZERO
    return kmem_cache_alloc(s, gfp | ZERO)


def slab_free(s, head, obj):
    """slab_free(): the KASAN/debug hook, the quarantine, then the allocator."""
    debug.hooks.slab_free(s.name, obj)
    if s.debug:
        st = s.state
        q = st.quarantine_max > 0
        if not slab_free_debug(s, head, obj, q):
            return
        if q:
            for s2, o2 in quarantine_put(s, obj):
                h2 = virt_to_slab(s2.pgdat, o2)
                i2 = obj_index(s2, h2, o2)
                st.obj_state[h2 * st.rows_per_page + i2] = OBJ_FREE
                s2.state.allocator.do_slab_free(s2, h2, o2)
            return
    s.state.allocator.do_slab_free(s, head, obj)


def quarantine_flush(pgdat=None):
    """Free everything this CPU holds in quarantine (kasan_quarantine_reduce)."""
    st = slab_state(pgdat)
    keep, st.quarantine_max = st.quarantine_max, 0
    items, st.quarantine[:] = list(st.quarantine), []
    for s2, o2 in items:
        h2 = virt_to_slab(s2.pgdat, o2)
        i2 = obj_index(s2, h2, o2)
        st.obj_state[h2 * st.rows_per_page + i2] = OBJ_FREE
        s2.state.allocator.do_slab_free(s2, h2, o2)
    st.quarantine_max = keep


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
def free_objects_of_slab(s, head):
    """Addresses a slab holds free: its own freelist plus, for SLUB, any CPU's
    freelist of it; for SLAB, the free indices and every CPU's array cache.
    Returns (set, problems)."""
    node = s.pgdat
    mm = node.mem_map
    st = s.state
    problems = []
    free = set()
    start = node.page_offset + (head << node.page_shift)
    end = start + (node.page_size << mm.order[head])
    objects = (mm.slab_counters[head] >> 16) & 0x7FFF
    if st.allocator.name == "slub":
        from .slub import KCC_NF, get_freepointer
        chains = [("slab", mm.slab_freelist[head])]
        for cpu in range(node.nr_cpus):
            c = s.cpu_base + cpu * KCC_NF
            if s.kcc[c + 2] == head + 1:
                chains.append((f"CPU {cpu}", s.kcc[c]))
        for what, it in chains:
            n = 0
            while it:
                if not start <= it < end or obj_index(s, head, it) is None:
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
            if what == "slab" and n != objects - (mm.slab_counters[head] & 0xFFFF):
                problems.append(f"{s.name} slab {head:#x}: Wrong object count: freelist has {n}, "
                                f"counters say objects {objects} inuse "
                                f"{mm.slab_counters[head] & 0xFFFF}")
    else:
        from .slab import AC_ENTRY, AC_NF
        active = mm.slab_counters[head] & 0xFFFF
        fi = (mm.slab_freelist[head] - node.page_offset) >> 1
        base = start + mm.private[head] + s.red_left_pad
        for k in range(active, objects):
            idx = s.data_h[fi + k]
            obj = base + idx * s.size
            if idx >= objects or obj in free:
                problems.append(f"{s.name} slab {head:#x}: bad free index {idx}")
                continue
            free.add(obj)
        for cpu in range(node.nr_cpus):
            a = s.ac_base + cpu * AC_NF
            for i in range(s.acv[a]):
                obj = s.acv[a + AC_ENTRY + i]
                if start <= obj < end:
                    if obj in free:
                        problems.append(f"{s.name}: object {obj:#x} twice on free lists")
                    free.add(obj)
    return free, problems


def check_slabs(pgdat, held=()):
    """Every slab's free objects and the caller's ``held`` objects partition its objects.

    ``held``: addresses the caller believes are allocated.  Returns problems.
    """
    import numpy as np
    st = slab_state(pgdat)
    mm = pgdat.mem_map
    problems = []
    held = set(held)
    heads = np.nonzero(np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab_)[0]
    seen_held = set()
    for head in heads:
        head = int(head)
        s = cache_by_id(st, mm.slab_cache[head] - 1)
        if s is None:
            problems.append(f"slab {head:#x} of a destroyed cache")
            continue
        free, probs = free_objects_of_slab(s, head)
        problems += probs
        start = pgdat.page_offset + (head << pgdat.page_shift)
        end = start + (pgdat.page_size << mm.order[head])
        mine = {a for a in held if start <= a < end}
        seen_held |= mine
        both = mine & free
        if both:
            problems.append(f"{s.name}: allocated objects on a freelist: "
                            f"{[hex(a) for a in sorted(both)[:3]]}")
        objects = (mm.slab_counters[head] >> 16) & 0x7FFF
        if len(free) + len(mine) != objects:
            problems.append(f"{s.name} slab {head:#x}: {len(free)} free + {len(mine)} held "
                            f"!= {objects} objects")
    lost = {a for a in held if virt_to_slab(pgdat, a) is not None} - seen_held
    if lost:
        problems.append(f"held objects outside any slab: {[hex(a) for a in sorted(lost)[:3]]}")
    return problems


ctor_object = None        # the object whose constructor runs now in this process (or None)


def run_ctor(ctor, obj):
    """setup_object(): run a cache's constructor on a new slab's object.  The kernel
    runs it with the object unpoisoned (kasan_unpoison_new_object), though the
    object is still free: a checker reading ``ctor_object`` lets it through."""
    global ctor_object
    ctor_object = obj
    try:
        ctor(obj)
    finally:
        ctor_object = None
