"""struct node_barn of SLUB with sheaves (mm/slub.c, Linux 7.0): one barn per NUMA node.

A barn keeps full and empty sheaves that the CPUs of its node trade with
(get_barn(s): the barn of this CPU's node, get_node(s, numa_mem_id())->barn).
A full main goes in only while there are fewer than MAX_FULL_SHEAVES
(MAX_EMPTY_SHEAVES bounds only the kfree_rcu path, not modelled)::

    barn_get_empty_sheaf / barn_put_empty_sheaf / barn_put_full_sheaf
    barn_get_full_or_empty_sheaf      (kmem_cache_prefill_sheaf)
    barn_replace_empty_sheaf          a full sheaf for an empty main
    barn_replace_full_sheaf           an empty sheaf for a full main; E2BIG with
                                      MAX_FULL_SHEAVES full ones, ENOMEM with no
                                      empty one

The barn links its sheaves through the sheaf slots' ``next`` word, so the
struct slab_sheaf slot layout (SHEAF_NF, SH_*, the SH_INUSE marks) and the
slub_percpu_sheaves row (PCS_*) are defined here, for the barn, sheaves.py
and sheaves_check.py alike; sheaves.py describes them and re-exports the
names.

Arena section (C = MAX_CACHES, M = NUMA nodes)::

    node_barn   u64[C * M * 8]   row (cache * M + nid) * 8 + BARN_*: 0 nr_full,
                                 1 nr_empty, 2 full list head, 3 empty list head
                                 (sheaf id + 1), 4 head of the cache's free
                                 sheaf slots, 5 slots free (both in node 0's
                                 row only: the model's kzalloc of a struct
                                 slab_sheaf, under node 0's barn lock),
                                 6 barn lock id

Every field, list and sheaf on a list is written only under the barn's lock
(a data_race() read of a count is allowed first, as the kernel does).
Lock order: cpu_sheaves->lock (irqs off) -> barn->lock.
"""

from . import spinlock

MAX_FULL_SHEAVES = 10
MAX_EMPTY_SHEAVES = 10
SHEAF_NF = 128                     # u64 words a sheaf slot takes
SH_SIZE, SH_CAPACITY, SH_NEXT, SH_INUSE, SH_OBJECTS = 0, 1, 2, 3, 4
SHEAF_UNUSED, SHEAF_KERNEL, SHEAF_CALLER = 0, 1, 2   # SH_INUSE: free slot, allocator's, caller's
SHEAF_MAX_CAPACITY = SHEAF_NF - SH_OBJECTS
PCS_MAIN, PCS_SPARE, PCS_NF = 0, 1, 2  # a slub_percpu_sheaves row: main, spare (sheaf id + 1)
(BARN_NR_FULL, BARN_NR_EMPTY, BARN_FULL, BARN_EMPTY, BARN_POOL, BARN_POOL_FREE,
 BARN_LOCK) = range(7)
BARN_NF = 8
E2BIG, ENOMEM = -7, -12            # barn_replace_full_sheaf's ERR_PTRs


class node_barn:
    """get_node(s, nid)->barn: one node's barn of a cache (a row in the arena)."""

    __slots__ = ("nid", "base", "lock")

    def __init__(self, nid, base, lock):
        self.nid = nid
        self.base = base                   # s.barn[base + BARN_*]
        self.lock = lock

    def __repr__(self):
        return f"<node_barn {self.nid}>"


def barn_row(cid, nid, nr_nodes):
    """Index in node_barn of cache ``cid``'s barn of node ``nid``."""
    return (cid * nr_nodes + nid) * BARN_NF


def barn_counts(s, barn):
    """(nr_full, nr_empty) of a barn (a data_race() read)."""
    return s.barn[barn.base + BARN_NR_FULL], s.barn[barn.base + BARN_NR_EMPTY]


def _barn_pop(s, head, count):
    """list_first_entry + list_del on a barn list; barn->lock held."""
    barn = s.barn
    g1 = barn[head]
    barn[head] = s.sh[(g1 - 1) * SHEAF_NF + SH_NEXT]
    barn[count] -= 1
    return g1 - 1


def _barn_push(s, head, count, g):
    """list_add on a barn list; barn->lock held."""
    barn = s.barn
    s.sh[g * SHEAF_NF + SH_NEXT] = barn[head]
    barn[head] = g + 1
    barn[count] += 1


def barn_get_empty_sheaf(s, barn):
    b = barn.base
    if not s.barn[b + BARN_NR_EMPTY]:                    # data_race() check
        return None
    g = None
    flags = spinlock.spin_lock_irqsave(barn.lock)
    if s.barn[b + BARN_NR_EMPTY]:
        g = _barn_pop(s, b + BARN_EMPTY, b + BARN_NR_EMPTY)
    spinlock.spin_unlock_irqrestore(barn.lock, flags)
    return g


def barn_put_empty_sheaf(s, barn, g):
    b = barn.base
    flags = spinlock.spin_lock_irqsave(barn.lock)
    _barn_push(s, b + BARN_EMPTY, b + BARN_NR_EMPTY, g)
    spinlock.spin_unlock_irqrestore(barn.lock, flags)


def barn_put_full_sheaf(s, barn, g):
    b = barn.base
    flags = spinlock.spin_lock_irqsave(barn.lock)
    _barn_push(s, b + BARN_FULL, b + BARN_NR_FULL, g)
    spinlock.spin_unlock_irqrestore(barn.lock, flags)


def barn_get_full_or_empty_sheaf(s, barn):
    b = barn.base
    if not s.barn[b + BARN_NR_FULL] and not s.barn[b + BARN_NR_EMPTY]:
        return None
    g = None
    flags = spinlock.spin_lock_irqsave(barn.lock)
    if s.barn[b + BARN_NR_FULL]:
        g = _barn_pop(s, b + BARN_FULL, b + BARN_NR_FULL)
    elif s.barn[b + BARN_NR_EMPTY]:
        g = _barn_pop(s, b + BARN_EMPTY, b + BARN_NR_EMPTY)
    spinlock.spin_unlock_irqrestore(barn.lock, flags)
    return g


def barn_replace_empty_sheaf(s, barn, empty):
    """A full sheaf for the given empty one, or None (the empty one stays the caller's)."""
    b = barn.base
    if not s.barn[b + BARN_NR_FULL]:
        return None
    full = None
    flags = spinlock.spin_lock_irqsave(barn.lock)
    if s.barn[b + BARN_NR_FULL]:
        full = _barn_pop(s, b + BARN_FULL, b + BARN_NR_FULL)
        _barn_push(s, b + BARN_EMPTY, b + BARN_NR_EMPTY, empty)
    spinlock.spin_unlock_irqrestore(barn.lock, flags)
    return full


def barn_replace_full_sheaf(s, barn, full):
    """An empty sheaf for the given full one; E2BIG with MAX_FULL_SHEAVES full
    ones in the barn, ENOMEM with no empty one."""
    b = barn.base
    arr = s.barn
    if arr[b + BARN_NR_FULL] >= MAX_FULL_SHEAVES:        # not rechecked under the lock
        return E2BIG
    if not arr[b + BARN_NR_EMPTY]:
        return ENOMEM
    flags = spinlock.spin_lock_irqsave(barn.lock)
    if arr[b + BARN_NR_EMPTY]:
        empty = _barn_pop(s, b + BARN_EMPTY, b + BARN_NR_EMPTY)
        _barn_push(s, b + BARN_FULL, b + BARN_NR_FULL, full)
    else:
        empty = ENOMEM
    spinlock.spin_unlock_irqrestore(barn.lock, flags)
    return empty


def barn_take_all(s, barn):
    """Every sheaf off a barn (barn_shrink's first half): (full ones, empty ones)."""
    b = barn.base
    arr = s.barn
    flags = spinlock.spin_lock_irqsave(barn.lock)
    full, empty = [], []
    while arr[b + BARN_NR_FULL]:
        full.append(_barn_pop(s, b + BARN_FULL, b + BARN_NR_FULL))
    while arr[b + BARN_NR_EMPTY]:
        empty.append(_barn_pop(s, b + BARN_EMPTY, b + BARN_NR_EMPTY))
    spinlock.spin_unlock_irqrestore(barn.lock, flags)
    return full, empty
