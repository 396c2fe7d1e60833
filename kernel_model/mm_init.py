"""Boot: the node, then the slab allocator, kmalloc caches and vmalloc.

    boot(layout, nr_cpus, page_data, slab=..., slub_debug=..., tlb=...,
         nodes=1, cpus_per_node=None, distance=None)
      numa.NumaTopology(...)     the nodes' page frames and CPUs, node_distance
      pgdat.pglist_data(...)     memory map, every node's zones and zonelists,
                                 watermarks, pagesets,
                                 every page into the buddy lists (mm_core_init)
      kmem_cache_init(pgdat)     SlabState over slab_common's sections, the
                                 allocator's init, slab_mutex and the slab_lock
                                 pool, vmalloc space, kmalloc caches
                                 (kmem_cache_init + create_kmalloc_caches)
      pgdat.tlb_flush            tlb.py's shared flush word (None without tlb=True)
      pgdat.set_node(pgdat)      this process's NODE_DATA

The allocator is found in slab_h.ALLOCATORS by name; this module never asks
which one it got.  Arena sections added with a slab allocator, in order:
slab_common.arena_sections, slab_debug.arena_sections (only with
slub_debug), the allocator's arena_sections, vmalloc.arena_sections.
"""

from . import numa as numa_mod, pgdat as pgdat_mod, slab_common, slab_debug, slab_h, spinlock, tlb as tlb_mod
from .errors import ConfigError, NotBootedWith
from .kmalloc import create_kmalloc_caches
from .layout import MemoryLayout
# by name: the package's ``vmalloc`` is the function, not the module
from .vmalloc import VmallocSpace, arena_sections as vmalloc_sections


def slab_allocator_name(slab, page_data):
    """The registry name asked for by ``boot(slab=...)``, or None for no slab allocator."""
    if slab in (None, False, "none"):
        return None
    name = next(iter(slab_h.ALLOCATORS)) if slab is True else slab
    slab_h.allocator(name)                     # ConfigError naming the choices
    if not page_data:
        raise NotBootedWith(f"slab={name!r} needs real page data (objects and their free "
                            "pointers live in the pages)", "page_data", True)
    return name


def slab_sections(layout, nr_cpus, allocator, debug_data, nr_nodes=1):
    n = layout.nr_pages
    out = slab_common.arena_sections(nr_cpus, nr_nodes)
    if debug_data:
        out += slab_debug.arena_sections(nr_cpus, n, layout.page_size)
    return out + allocator.arena_sections(nr_cpus, nr_nodes) + vmalloc_sections(n)


def kmem_cache_init(pgdat, name, allocator):
    """The slab allocator of a booted node (before the CPUs fork)."""
    st = slab_common.SlabState(pgdat, allocator, pgdat.slub_debug)
    pgdat.slab_kind = name
    pgdat.slab = st
    st.meta[0] = list(slab_h.ALLOCATORS).index(name) + 1
    st.meta[2] = st.rows_per_page
    st.slab_mutex = spinlock.spin_lock_init(pgdat.locks, "slab_mutex")
    st.slab_locks = [spinlock.spin_lock_init(pgdat.locks, f"slab_lock[{i}]")
                     for i in range(slab_common.NR_SLAB_LOCKS)]
    allocator.init(st)
    pgdat.vmalloc = VmallocSpace(pgdat)
    create_kmalloc_caches(st)


def _too_many_locks(exc, numa, nr_cpus, max_locks):
    """Out of spinlocks at boot: with several nodes every CPU has a pageset lock per
    zone of every node and every cache a list_lock per node (and the classic
    SLAB an alien cache lock, sheaves a barn lock) -- a configuration the model
    cannot hold, said as such (ConfigError), not a crash."""
    if "out of spinlocks" not in str(exc) or numa.nr_nodes == 1:
        return exc
    return ConfigError(f"{numa.nr_nodes} nodes x {nr_cpus} CPUs need more spinlocks than the "
                       f"model has ({max_locks}: pageset locks per CPU per zone of every node, "
                       "a list_lock per cache per node, SLAB's alien and the sheaves' barn "
                       "locks per cache per node): give fewer nodes or CPUs")


def boot(layout=None, nr_cpus=1, page_data=False, max_locks=spinlock.MAX_LOCKS,
         extra_sections=(), slab=None, slub_debug=True, tlb=False, nodes=1, cpus_per_node=None,
         distance=None, **layout_kw):
    """Boot a model and make it this process's node.

    ``boot(MemoryLayout("x86_32", total="1G"))`` or ``boot(total="64M")``.
    ``slab="slub"`` / ``"slab"`` (a name of slab_h.ALLOCATORS; True means the
    first, "slub") adds the slab allocator, kmalloc and vmalloc; it needs
    ``page_data=True``.  ``slub_debug=False`` turns off red zones, poisoning
    and per-object debug data (benchmarks); a string of slub_debug= letters
    (F consistency checks, Z red zones, P poisoning, U tracks: the model's
    per-object state and KASAN's slab checks need U) gives every cache those.
    ``nodes`` (a count or node sizes in bytes), ``cpus_per_node`` and
    ``distance`` make a NUMA machine (numa.py); the default is one node.
    """
    if layout is None:
        layout = MemoryLayout(**layout_kw)
    elif layout_kw:
        raise ConfigError("give either a MemoryLayout or layout keywords, not both")
    numa = numa_mod.NumaTopology(layout.nr_pages, layout.page_size, nr_cpus, nodes,
                                 cpus_per_node, distance)
    name = slab_allocator_name(slab, page_data)
    allocator = slab_h.allocator(name) if name else None
    debug_flags = slab_common.slub_debug_flags(slub_debug)
    debug_data = bool(debug_flags) and allocator is not None
    sections = (slab_sections(layout, nr_cpus, allocator, debug_data, numa.nr_nodes)
                if allocator else [])
    if tlb:
        sections = list(sections) + tlb_mod.arena_sections(nr_cpus)
    try:
        node = pgdat_mod.pglist_data(layout, nr_cpus, page_data, max_locks, extra_sections,
                                     sections, numa)
    except RuntimeError as exc:
        raise _too_many_locks(exc, numa, nr_cpus, max_locks) from None
    node.tlb_flush = node.arena.v["tlb_flush"] if tlb else None
    if allocator is not None:
        node.slub_debug = debug_data
        node.slub_debug_flags = debug_flags
        try:
            kmem_cache_init(node, name, allocator)
        except RuntimeError as exc:
            node.close()
            raise _too_many_locks(exc, numa, nr_cpus, max_locks) from None
        except BaseException:
            node.close()
            raise
    pgdat_mod.set_node(node)
    return node
