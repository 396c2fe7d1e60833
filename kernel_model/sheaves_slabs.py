"""The slab layer under the sheaves (mm/slub.c of Linux 7.0): objects to and from slabs.

With the CPU slab and the per-CPU partial lists gone, this is all of SLUB
below the sheaves (sheaves.py): whole freelists taken from slabs for a sheaf,
chains of objects given back, a single object for a caller the sheaves cannot
serve.  struct slab and its helpers are slub.py's (slab_update_freelist is the
(freelist, counters) cmpxchg, emulated under slab_lock; add_partial and
remove_partial move a slab on the node partial list, PG_workingset being
SL_partial; new_slab and discard_slab):

    __slab_free             a chain head..tail back to its slab, lock-free
                            unless the slab goes full -> partial (add_partial,
                            to the tail) or becomes empty (discarded once the
                            node has min_partial slabs); a slab off every list
                            (being refilled from) is left to its taker
    __kmem_cache_free_bulk  a batch, one __slab_free per slab
    refill_objects          min..max objects for a sheaf: get_partial_node_bulk
                            takes slabs off the partial list, get_freelist_nofreeze
                            takes each one's whole freelist (what does not fit
                            goes back by __slab_free, untouched slabs go back on
                            the list), then new slabs (alloc_from_new_slab)
    ___slab_alloc           one object: get_from_partial_node, else a new slab

NUMA (7.0, "slab: refill sheaves from all nodes"): a slab is on the lists of
the node its pages are on (slub.slab_node), so __slab_free takes the owner's
list_lock.  refill_objects tries this CPU's node, then (__refill_objects_any)
the other nodes in zonelist order whose nr_partial is above min_partial --
so a sheaf may hold objects of another node -- then new slabs asked of this
CPU's node.  ___slab_alloc(node): with a node named but no __GFP_THISNODE,
first that node only (its partial list, a new slab with GFP_NOWAIT |
__GFP_THISNODE), then again with the caller's flags (get_from_any_partial,
any node's pages).  The kernel gates the other nodes' partial lists by
remote_node_defrag_ratio against get_cycles(); the model always tries, as
slub.py does.

A slab taken off the partial list by a refill counts as full (inuse =
objects) and is on no list until a free puts it back, as in the kernel.
The slab layer of 7.0 has no frozen slabs except for corrupted ones, which
the model does not freeze.

Lock order: node->list_lock -> slab_lock (slab_update_freelist); called with
the cpu_sheaves lock dropped (the page allocator may sleep).  Counters live
in struct page and kmem_cache_node (slab_common.py), nothing of its own.
"""

from . import context, debug, slub, spinlock
from . import slab_common as sc
from .gfp import GFP_NOWAIT, __GFP_THISNODE
from .page import NIL
from .page_alloc import NUMA_NO_NODE
from .slab_common import KN_NR_PARTIAL, LIST_PARTIAL, NR_STAT


def _stat(s, item, n=1):
    s.statv[s.stat_base + context.this_cpu.id * NR_STAT + item] += n


def __slab_free(s, pfn, head, tail, cnt):
    """A chain head..tail of ``cnt`` objects back to slab ``pfn`` (7.0 __slab_free).

    Lock-free unless the slab goes full -> partial (add_partial) or becomes
    empty (discard it when the node has min_partial slabs already); the list
    lock is the one of the slab's own node.  A slab off every list (being
    refilled from) is left alone.
    """
    mm = s.mm
    n = slub.slab_node(s, pfn)
    locked = False
    flags = None
    while True:
        if locked:
            spinlock.spin_unlock_irqrestore(n.list_lock, flags)
            locked = False
        prior = mm.slab_freelist[pfn]
        co = mm.slab_counters[pfn]
        if tail == prior:                          # set_freepointer's BUG_ON(object == fp)
            debug.hooks.double_free(s.name, tail, f"kernel BUG at mm/slub.c (set_freepointer): "
                                    f"naive detection of double free or corruption: {s.name} "
                                    f"object {tail:#x} is already the head of its slab's freelist")
            return
        slub.set_freepointer(s, tail, prior)
        inuse = (co & 0xFFFF) - cnt
        was_full = not prior
        on_node_partial = False
        if not inuse or was_full:
            flags = spinlock.spin_lock_irqsave(n.list_lock)
            locked = True
            on_node_partial = bool(mm.flags[pfn] & slub.PG_workingset)
        if slub.slab_update_freelist(s, pfn, prior, co, head, (co & ~0xFFFF) | inuse & 0xFFFF):
            break
    if not locked:
        return
    if not was_full and not on_node_partial:
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        return
    if not inuse and s.state.node[n.base + KN_NR_PARTIAL] >= s.min_partial:
        if not was_full:
            slub.remove_partial(s, pfn)
            _stat(s, sc.FREE_REMOVE_PARTIAL)
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        slub.discard_slab(s, pfn)
        return
    if was_full:
        slub.add_partial(s, pfn, True)
        _stat(s, sc.FREE_ADD_PARTIAL)
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)


def __kmem_cache_free_bulk(s, objs):
    """Objects back to their slabs, one __slab_free per slab (a detached freelist)."""
    by_slab = {}
    node = s.pgdat
    for obj in objs:
        by_slab.setdefault(sc.virt_to_slab(node, obj), []).append(obj)
    for pfn, chain in by_slab.items():
        for a, b in zip(chain, chain[1:]):
            slub.set_freepointer(s, a, b)
        __slab_free(s, pfn, chain[0], chain[-1], len(chain))


def get_freelist_nofreeze(s, pfn):
    """Take a slab's whole freelist; the slab is off the lists and counts as full."""
    mm = s.mm
    while True:
        fl = mm.slab_freelist[pfn]
        co = mm.slab_counters[pfn]
        objects = (co >> 16) & 0x7FFF
        if slub.slab_update_freelist(s, pfn, fl, co, 0, (co & ~0xFFFF) | objects):
            return fl


def get_partial_node_bulk(s, n, min_objects, max_objects):
    """Slabs off node n's partial list holding about min..max free objects."""
    st = s.state
    if not st.node[n.base + KN_NR_PARTIAL]:
        return []
    mm = s.mm
    slabs = []
    total = 0
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    pfn = st.lhead[n.lbase + LIST_PARTIAL]
    while pfn != NIL:
        nxt = mm.next[pfn]
        co = mm.slab_counters[pfn]
        free = ((co >> 16) & 0x7FFF) - (co & 0xFFFF)
        if total >= min_objects and total + free > max_objects:
            break
        slub.remove_partial(s, pfn)
        slabs.append(pfn)
        total += free
        if total >= max_objects:
            break
        pfn = nxt
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    return slabs


def __refill_objects_node(s, n, min_objects, max_objects):
    slabs = get_partial_node_bulk(s, n, min_objects, max_objects)
    if not slabs:
        return []
    out = []
    i = 0
    while i < len(slabs):
        pfn = slabs[i]
        i += 1
        obj = get_freelist_nofreeze(s, pfn)
        while obj and len(out) < max_objects:
            out.append(obj)
            obj = slub.get_freepointer(s, obj)
        if obj:                                    # more than fits: back as a detached freelist
            head = tail = obj
            cnt = 0
            while obj:
                tail = obj
                cnt += 1
                obj = slub.get_freepointer(s, obj)
            __slab_free(s, pfn, head, tail, cnt)
        if len(out) >= max_objects:
            break
    rest = slabs[i:]
    if rest:
        discard = []
        flags = spinlock.spin_lock_irqsave(n.list_lock)
        for pfn in rest:
            if not s.mm.slab_counters[pfn] & 0xFFFF and \
                    s.state.node[n.base + KN_NR_PARTIAL] >= s.min_partial:
                discard.append(pfn)
                continue
            slub.add_partial(s, pfn, False)
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
        for pfn in discard:
            slub.discard_slab(s, pfn)
    return out


def __refill_objects_any(s, min_objects, max_objects, local):
    """Partial slabs of the nodes in ``local``'s zonelist order that have more
    than min_partial of them (CONFIG_NUMA; nothing with one node)."""
    out = []
    kn = s.state.node
    for nid in s.pgdat.node_data[local].node_order:
        n = s.node[nid]
        if kn[n.base + KN_NR_PARTIAL] <= s.min_partial:
            continue
        got = __refill_objects_node(s, n, min_objects, max_objects)
        out += got
        if len(got) >= min_objects:
            break
        min_objects -= len(got)
        max_objects -= len(got)
    return out


def alloc_from_new_slab(s, pfn, count):
    """Up to ``count`` objects of a new slab; the rest of it goes on its node's
    partial list."""
    mm = s.mm
    objects = (mm.slab_counters[pfn] >> 16) & 0x7FFF
    out = []
    obj = mm.slab_freelist[pfn]
    while obj and len(out) < count:
        out.append(obj)
        obj = slub.get_freepointer(s, obj)
    mm.slab_freelist[pfn] = obj
    mm.slab_counters[pfn] = objects << 16 | len(out)
    if objects > count:
        n = slub.slab_node(s, pfn)
        flags = spinlock.spin_lock_irqsave(n.list_lock)
        slub.add_partial(s, pfn, False)
        spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    return out


def refill_objects(s, gfp, min_objects, max_objects):
    """Between min and max free objects for a sheaf: this CPU's node's partial
    slabs, then other nodes' (several nodes), then new slabs of this node."""
    local = s.pgdat.numa_node_id()
    out = __refill_objects_node(s, s.node[local], min_objects, max_objects)
    if len(out) < min_objects and s.numa:
        out += __refill_objects_any(s, min_objects - len(out), max_objects - len(out), local)
    while len(out) < min_objects:
        pfn = slub.new_slab(s, gfp, local if s.numa else NUMA_NO_NODE)
        if pfn is None:
            break
        _stat(s, sc.ALLOC_SLAB)
        out += alloc_from_new_slab(s, pfn, max_objects - len(out))
    return out


def get_from_partial_node(s, n):
    """One object of node n's first partial slab, under its list_lock."""
    st = s.state
    if not st.node[n.base + KN_NR_PARTIAL]:
        return 0
    mm = s.mm
    obj = 0
    flags = spinlock.spin_lock_irqsave(n.list_lock)
    pfn = st.lhead[n.lbase + LIST_PARTIAL]
    if pfn != NIL and mm.slab_freelist[pfn]:
        while True:
            fl = mm.slab_freelist[pfn]
            co = mm.slab_counters[pfn]
            nxt = slub.get_freepointer(s, fl)
            if slub.slab_update_freelist(s, pfn, fl, co, nxt, co + 1):
                break
        obj = fl
        if not nxt:
            slub.remove_partial(s, pfn)
        _stat(s, sc.ALLOC_FROM_PARTIAL)
    spinlock.spin_unlock_irqrestore(n.list_lock, flags)
    return obj


def get_from_any_partial(s):
    """One object of another node's partial slab, nearest node first (CONFIG_NUMA)."""
    if not s.numa:
        return 0
    kn = s.state.node
    for nid in s.pgdat.node_data[s.pgdat.numa_node_id()].node_order:
        n = s.node[nid]
        if kn[n.base + KN_NR_PARTIAL] > s.min_partial:
            obj = get_from_partial_node(s, n)
            if obj:
                return obj
    return 0


def get_from_partial(s, node, gfp):
    """The node asked for (this CPU's for NUMA_NO_NODE), then any node unless the
    caller named one with __GFP_THISNODE."""
    searchnode = s.pgdat.numa_node_id() if node == NUMA_NO_NODE else node
    obj = get_from_partial_node(s, s.node[searchnode])
    if obj or (node != NUMA_NO_NODE and gfp & __GFP_THISNODE):
        return obj
    return get_from_any_partial(s)


def ___slab_alloc(s, gfp, node=NUMA_NO_NODE):
    """The slow path without sheaves: a partial slab's object, or a new slab's;
    a node named without __GFP_THISNODE is tried alone first (try_thisnode)."""
    _stat(s, sc.ALLOC_SLOWPATH)
    try_thisnode = node != NUMA_NO_NODE and not gfp & __GFP_THISNODE
    while True:                                    # new_objects:
        pc_flags = GFP_NOWAIT | __GFP_THISNODE if try_thisnode else gfp
        obj = get_from_partial(s, node, pc_flags)
        if obj:
            return obj
        pfn = slub.new_slab(s, pc_flags, node)
        if pfn is None:
            if try_thisnode:
                try_thisnode = False
                continue
            return 0
        _stat(s, sc.ALLOC_SLAB)
        got = alloc_from_new_slab(s, pfn, 1)
        return got[0] if got else 0
