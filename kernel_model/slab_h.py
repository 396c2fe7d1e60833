"""mm/slab.h: what slab_common asks of a slab allocator, and struct slab.

The kernel's mm/slab.h is the one header that slab_common.c and each
allocator (mm/slub.c, once mm/slab.c) agree on.  This module is that header
for the model:

- ``SlabAllocator``: the contract, a ``typing.Protocol`` that an allocator
  *module* satisfies (kernel_model/slub.py, kernel_model/slab.py).  Each
  member's docstring says who calls it, when, and in which lock and irq state.
- ``ALLOCATORS``: the registry, name -> module, one line per allocator;
  ``allocator(name)`` imports one (the only way slab_common, boot and the
  scenario reader find an allocator: no ``if name == "slub"``).
- struct slab: the packed ``slab_counters`` word of struct page (inuse 16 |
  objects 15 | frozen 1) named by ``slab_inuse`` / ``slab_objects`` /
  ``slab_frozen`` / ``slab_counters``, and ``virt_to_slab``.
- ``slab_state(pgdat)``: the node's SlabState (slab_common.SlabState), with a
  clear error before boot or on a node booted without a slab allocator.

This module imports no allocator and no other slab module, so every slab
module can import it (mm/slab.h is included by all of mm/sl?b*.c).
"""

import importlib
from typing import Protocol, runtime_checkable

from . import pgdat as pgdat_mod
from .errors import ConfigError, NotBootedWith
from .page import PGTY_slab

# The registry: one line per allocator.  The first is the default (``slab=True``).
ALLOCATORS = {
    "slub": "kernel_model.slub",
    "slab": "kernel_model.slab",
    "sheaves": "kernel_model.sheaves",
}


def allocator(name):
    """The allocator module registered as ``name``; ConfigError naming the choices."""
    path = ALLOCATORS.get(name) if isinstance(name, str) else None
    if path is None:
        raise ConfigError(f"slab allocator {name!r}: unknown; use one of "
                          f"{', '.join(repr(n) for n in ALLOCATORS)}")
    return importlib.import_module(path)


# -- struct slab: the counters word (include/linux/mm_types.h, mm/slab.h) ----------
# union { unsigned long counters; struct { unsigned inuse:16; unsigned objects:15;
#                                          unsigned frozen:1; }; };
SLAB_INUSE_MASK = 0xFFFF
SLAB_OBJECTS_SHIFT = 16
SLAB_OBJECTS_MASK = 0x7FFF
SLAB_FROZEN = 1 << 31
SLAB_INUSE_ONE = 1                # one object in use: counters -/+ it = inuse -/+ 1


def slab_inuse(co):
    """slab->inuse: objects handed out (SLUB) / slab->active (the classic SLAB)."""
    return co & SLAB_INUSE_MASK


def slab_objects(co):
    """slab->objects: objects the slab holds (SLAB's cachep->num)."""
    return (co >> SLAB_OBJECTS_SHIFT) & SLAB_OBJECTS_MASK


def slab_frozen(co):
    """slab->frozen: the slab is some CPU's slab (SLUB); 1 or 0."""
    return co >> 31


def slab_counters(inuse, objects, frozen=0):
    """The counters word of (inuse, objects, frozen)."""
    return (SLAB_FROZEN if frozen else 0) | objects << SLAB_OBJECTS_SHIFT | inuse


def virt_to_slab(pgdat, addr):
    """Head pfn of the slab holding ``addr``, or None (not a slab page).

    Every allocator marks a slab the same way: PGTY_slab on the head page,
    slab_cache on every page, page_lru_prev of a tail page = the head pfn.
    """
    if addr is None:
        return None
    off = addr - pgdat.page_offset                 # pgdat.virt_to_pfn(addr), inlined: kfree
    if off < 0 or off >= pgdat.lowmem_pages << pgdat.page_shift:   # runs it on every free
        return None
    pfn = off >> pgdat.page_shift
    mm = pgdat.mem_map
    if mm.type[pfn] == PGTY_slab:
        return pfn
    if mm.slab_cache[pfn]:
        return mm.prev[pfn]
    return None


def slab_state(pgdat=None):
    """The SlabState of ``pgdat`` (default: this process's node)."""
    node = pgdat or pgdat_mod._current
    st = node.slab if node is not None else None
    if st is not None:
        return st
    if node is None:
        raise RuntimeError("no model booted in this process: call kernel_model.boot() first")
    default = next(iter(ALLOCATORS))
    raise NotBootedWith("this model was booted without a slab allocator", "slab", default,
                        f" (allocators: {', '.join(ALLOCATORS)})")


# -- the contract ------------------------------------------------------------------
def _kmem_cache_create(self, state, cid, ctor):
    """Lay out cache ``cid``: compute its geometry into the arena row and
    reset its per-CPU rows; False if the object cannot fit a slab.

    Called by kmem_cache_create under slab_mutex with the row's generic
    fields set (KC_OBJECT_SIZE, KC_ALIGN, KC_FLAGS) and the cache's stats
    zeroed; must set KC_SIZE,
    KC_OFFSET, KC_INUSE, KC_RED_LEFT_PAD, KC_ORDER, KC_OBJECTS, KC_ALLOCFLAGS
    and may rewrite KC_FLAGS (OBJECT_POISON).  No handle exists yet."""


def _kmem_cache_shrink(self, s):
    """kmem_cache_shrink: flush this CPU's cached objects of ``s`` and free
    the empty slabs of the node lists; returns the pages freed.  Takes
    list_lock; any context that may take it."""


def _kmem_cache_shutdown(self, s):
    """kmem_cache_destroy: flush_all, free every empty slab; returns the
    objects still allocated (0 lets the cache go).  Called under no lock with
    the other CPUs idle."""


@runtime_checkable
class SlabAllocator(Protocol):
    """What a slab allocator module provides to slab_common, kmalloc, boot and slabinfo.

    ``s`` is a ``slab_common.kmem_cache`` bound in this process; ``state`` the
    node's ``slab_common.SlabState``; ``head_pfn`` the pfn of a slab's head
    page.  Unless said otherwise a function is called in task or irq context
    with interrupts in any state and no slab lock held, on the CPU
    ``context.this_cpu``; it takes the locks it needs in the order of
    mm/slub.c: slab_mutex -> node->list_lock -> per-CPU data (irqs off) ->
    slab_lock.  Per-object debug data (slab_debug.py), the KASAN hooks and the
    quarantine are slab_common's: an allocator calls
    ``slab_debug.setup_object_debug`` / ``run_ctor`` for a new slab's objects
    and ``slab_debug.slab_post_alloc_debug`` after an allocation when
    ``s.debug``, nothing on free (slab_common.slab_free has done it).
    """

    name: str
    """The registry key ("slub"); what slabinfo and reports call the allocator."""

    def arena_sections(self, nr_cpus, nr_nodes):
        """[(section, typecode, count)] of the allocator's own shared memory.

        Called once at boot, before the arena exists, by mm_init.boot; the
        per-cache rows are sized for slab_common.MAX_CACHES caches and
        ``nr_nodes`` NUMA nodes (per-node data: SLAB's alien caches, the
        sheaves' barns).
        """

    def init(self, state):
        """Boot, after the arena exists and before the CPUs fork: take this
        process's handles of the allocator's sections into ``state``.  Forked
        CPUs inherit them."""

    def bind_cache(self, s):
        """Copy the allocator's per-process fields onto a ``kmem_cache`` handle.

        Called by kmem_cache.__init__ whenever a process (re)builds a handle
        from the cache's arena row; the row is complete, ``s.ctor`` may not
        be set yet (it is per process).  Must not allocate or lock."""

    # A class body mangles ``__name`` into ``_SlabAllocator__name``: these three
    # members go into the class namespace by their string names.
    vars().update({"__kmem_cache_create": _kmem_cache_create,
                   "__kmem_cache_shrink": _kmem_cache_shrink,
                   "__kmem_cache_shutdown": _kmem_cache_shutdown})

    def slab_base(self, s, head_pfn):
        """Byte offset of the first object slot from the slab's first byte (the
        classic SLAB's colour; 0 for SLUB).  The first object is at
        ``slab start + slab_base + s.red_left_pad``.  Lock-free, any CPU."""

    def slab_alloc_node(self, s, gfp, orig_size, node=-1):
        """Allocate one object of ``s``, of NUMA node ``node`` if named (-1,
        NUMA_NO_NODE: the allocator's local preference); with __GFP_THISNODE
        only of that node.  Its address, or 0 (NULL).  Each allocator keeps a
        slab on the lists of the node its pages are on (``s.node_lists``).

        Called by kmem_cache_alloc and kmalloc (``orig_size`` = the size asked
        for, object_size for a cache allocation).  Runs the might_sleep and
        should_failslab hooks, may sleep only if gfp allows, restores the
        caller's irq state.  Postcondition on success: the object is
        allocated in the allocator's books, debug data updated when
        ``s.debug``, zeroed for __GFP_ZERO, and ``debug.hooks.slab_alloc``
        called."""

    def do_slab_free(self, s, head_pfn, obj):
        """Give ``obj`` (an object start of slab ``head_pfn`` of ``s``) back.

        Called by slab_common.slab_free after the KASAN hook, the debug checks
        and the quarantine have let the free through (so ``obj`` is a valid,
        allocated object when debug data is on).  Any context; restores the
        caller's irq state."""

    def flush_all(self, s):
        """Every CPU's cached objects and slabs of ``s`` back to the node lists.

        Touches other CPUs' per-CPU data: only correct when those CPUs are
        idle (the kernel sends an IPI).  Used by shutdown, tests and
        quiescent checkers."""

    def free_objects_of_slab(self, s, head_pfn):
        """(set of free object addresses, [problem text]) of one slab.

        Free means: on the slab's own free list plus any per-CPU cache of it
        (SLUB: the slab's and every CPU's freelist; SLAB: the free indices
        and every CPU's array cache).  A corrupt list is reported in the
        problems, never raised.  Read without locks: only meaningful while
        the CPUs are idle (slab_common.check_slabs)."""

    def slabinfo_counts(self, s):
        """(active_objs, num_objs, active_slabs, num_slabs) of /proc/slabinfo,
        as the allocator's get_slabinfo counts them.  Lock-free snapshot."""

    def slabinfo_tunables(self, s):
        """(limit, batchcount, sharedfactor) of /proc/slabinfo's tunables
        columns: the array cache sizes of the classic SLAB, 0 0 0 for SLUB."""

    def check_cache(self, s):
        """[problem text] about the allocator's own caches of ``s`` beyond what
        ``free_objects_of_slab`` walks per slab (sheaves: every sheaf slot in
        the CPUs and the barn holds an object of ``s`` that no other slot
        holds).  [] when there is nothing more to check (SLUB, SLAB).  Only
        meaningful while the CPUs are idle (slab_common.check_slabs)."""


# The member names, for tests and for a new allocator's author.
CONTRACT = ("name", "arena_sections", "init", "bind_cache", "__kmem_cache_create", "slab_base",
            "slab_alloc_node", "do_slab_free", "__kmem_cache_shrink", "__kmem_cache_shutdown",
            "flush_all", "free_objects_of_slab", "slabinfo_counts", "slabinfo_tunables",
            "check_cache")
