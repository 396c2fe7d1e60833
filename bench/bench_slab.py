"""Slab throughput, measured in one run.

    python3 bench/bench_slab.py [--pairs N]

Prints, with debug data off (boot(slub_debug=False)):
  1. kmalloc(64)+kfree pairs per second per CPU on SLUB's fast path, for one
     CPU and for two CPU processes running at once (target >= 100k/s/CPU);
  2. the cost ratio slow path / fast path: every alloc and free of a batch
     workload timed and split by the path it took (___slab_alloc and
     __slab_free take list_lock / slab_lock; the fast paths take none);
     target >= 3x.  Also the pair cost on a SLAB_CONSISTENCY_CHECKS cache (the
     kernel's locked route for debug caches: alloc and free both under
     list_lock, no slab allocation) -- a lighter slow path, shown for scale;
  3. SLUB vs. the classic SLAB on the same loop; and the cost with slub_debug on.
Measured, never asserted in tests.  The measurements live in harness/bench.py
(``mmstress bench`` shows the headline figures against their targets).
"""

import argparse

import kernel_model as km
from harness.tools.bench import (batch_rate, cache_rate, kmalloc_rate, per_op_costs,
                           two_cpu_rate)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=200_000)
    n = ap.parse_args().pairs
    print(f"kmalloc(64)+kfree, {n} pairs, debug data off")
    slub = kmalloc_rate("slub", n)
    print(f"  SLUB fast path, 1 CPU:          {slub:10.0f} pairs/s  ({1e6 / slub:5.2f} us/pair)"
          f"  target >= 100000: {'ok' if slub >= 100_000 else 'MISSED'}")
    rates = two_cpu_rate(n)
    print(f"  SLUB fast path, 2 CPUs at once: " + ", ".join(f"CPU {i} {r:.0f}" for i, r in
                                                         enumerate(rates)) + " pairs/s")
    fast, st_fast = cache_rate(0, n)
    locked, st_locked = cache_rate(km.SLAB_CONSISTENCY_CHECKS, n // 4)
    batch, st_batch = batch_rate(n)
    print("fast path vs slow paths (kmem_cache_alloc+free of a 64-byte cache)")
    print(f"  fast path:                      {1e6 / fast:6.2f} us/pair  "
          f"(alloc_fastpath {st_fast['alloc_fastpath']}, slowpath {st_fast['alloc_slowpath']})")
    print(f"  locked slow path:               {1e6 / locked:6.2f} us/pair  "
          f"ratio {fast / locked:4.1f}x (the debug-cache route; see below for the slow path)")
    print(f"  batches of 4096 (refill, new slabs, __slab_free, partial lists): "
          f"{1e6 / batch:6.2f} us/pair  (alloc_slowpath {st_batch['alloc_slowpath']}, "
          f"free_slowpath {st_batch['free_slowpath']}, alloc_slab {st_batch['alloc_slab']})")
    costs = per_op_costs(n // 2)
    print("per-operation cost by path (median, batches of 2048 allocs then frees; each op timed)")
    for k, slow, what in (("alloc", "alloc_slow", "slow path (locked)"),
                          ("free", "free_slow_locked", "slow path (list_lock)"),
                          ("free", "free_slow", "slow path (cmpxchg only)")):
        (f, nf), (sl, ns) = costs[k + "_fast"], costs[slow]
        target = "" if slow == "free_slow" else \
            f"  target >= 3x: {'ok' if sl / f >= 3 else 'MISSED'}"
        print(f"  {k:5s}: fast path {f:5.2f} us ({nf} ops), {what} {sl:6.2f} us ({ns} ops), "
              f"slow/fast {sl / f:4.1f}x{target}")
    slab = kmalloc_rate("slab", n)
    print("SLUB vs SLAB (kmalloc(64)+kfree, 1 CPU, debug off)")
    print(f"  SLUB {slub:10.0f} pairs/s   SLAB {slab:10.0f} pairs/s   SLUB/SLAB {slub / slab:4.2f}")
    dbg = kmalloc_rate("slub", n // 10, debug=True)
    print(f"SLUB with slub_debug (poison, redzones, tracks): {dbg:10.0f} pairs/s "
          f"({1e6 / dbg:5.2f} us/pair)")


if __name__ == "__main__":
    main()
