"""Planted bugs inside the model: switches that break one kernel rule each.

They exist to prove that mmstress finds the bug classes it claims to find in
allocator code itself, not only in workloads (hypothesis's ``quality/``
tests plant bugs the same way).  All are off by default; a scenario turns
them on with ``[model] planted = ["..."]`` and every CPU sets them after
fork.  Each names the rule it breaks:

    no_zone_lock_in_free     __free_one_page runs without zone->lock (free
                             path of free_one_page and free_pcppages_bulk)
    slub_fastpath_no_irq     SLUB's fast-path compare-and-swap runs with
                             interrupts enabled (the tid check and the swap
                             are no longer one atomic step)
    slub_skip_double_free    do_slab_free does not check that the object is
                             not already the head of the per-CPU freelist
    sheaves_no_irq           the sheaves allocator pops and pushes the main
                             sheaf without its local lock (interrupts on), so
                             an interrupt between reading main->size and
                             writing it hands an object out twice or loses one

Found by: no_zone_lock_in_free -> invariants (scenarios/bugs/zone_lock_missing);
slub_fastpath_no_irq and slub_skip_double_free -> the memory checker's
freelist-corrupt (an object handed out twice, a free pointer to itself;
scenarios/bugs/slub_*.toml, tests/e2e/test_memory_catalogue.py); sheaves_no_irq ->
the per-CPU checker's percpu-irq-race (scenarios/bugs/sheaves_no_irq.toml).
"""

KNOWN = {
    "no_zone_lock_in_free": "__free_one_page without zone->lock",
    "slub_fastpath_no_irq": "SLUB fast-path cmpxchg with interrupts enabled",
    "slub_skip_double_free": "do_slab_free skips the per-CPU freelist double-free check",
    "sheaves_no_irq": "sheaves: main sheaf push/pop without the local lock (irqs on)",
}

no_zone_lock_in_free = False
slub_fastpath_no_irq = False
slub_skip_double_free = False
sheaves_no_irq = False


def plant(names):
    """Turn on the named switches in this process (unknown names raise ValueError)."""
    for name in names:
        if name not in KNOWN:
            raise ValueError(f"unknown planted bug {name!r}: one of {', '.join(sorted(KNOWN))}")
        globals()[name] = True


def reset():
    for name in KNOWN:
        globals()[name] = False
