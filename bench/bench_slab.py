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
Measured, never asserted in tests.
"""

import argparse
import os
import time

import kernel_model as km
from kernel_model import context, slab_common as sc


def pairs_per_second(alloc, free, arg, n):
    t0 = time.perf_counter()
    for _ in range(n):
        free(alloc(arg, km.GFP_KERNEL))
    return n / (time.perf_counter() - t0)


def cache_pairs_per_second(c, n):
    alloc, free = km.kmem_cache_alloc, km.kmem_cache_free
    t0 = time.perf_counter()
    for _ in range(n):
        free(c, alloc(c, km.GFP_KERNEL))
    return n / (time.perf_counter() - t0)


def kmalloc_rate(kind, n, debug=False):
    with km.boot(total="64M", page_data=True, slab=kind, slub_debug=debug):
        pairs_per_second(km.kmalloc, km.kfree, 64, 2000)             # warm the caches
        return pairs_per_second(km.kmalloc, km.kfree, 64, n)


def cache_rate(flags, n):
    with km.boot(total="64M", page_data=True, slab="slub", slub_debug=False):
        c = km.kmem_cache_create("bench", 64, flags=flags)
        cache_pairs_per_second(c, 2000)
        r = cache_pairs_per_second(c, n)
        return r, sc.slab_stats(c)


def batch_rate(n, batch=4096):
    """Alloc ``batch`` objects then free them: refills, new slabs, partial lists."""
    with km.boot(total="64M", page_data=True, slab="slub", slub_debug=False):
        c = km.kmem_cache_create("batch", 64)
        done = 0
        t0 = time.perf_counter()
        while done < n:
            objs = [km.kmem_cache_alloc(c, km.GFP_KERNEL) for _ in range(batch)]
            for o in objs:
                km.kmem_cache_free(c, o)
            done += batch
        return done / (time.perf_counter() - t0), sc.slab_stats(c)


def per_op_costs(n, batch=2048):
    """Time every alloc and free of a batch workload; split them by the path taken.

    An alloc is "slow" if alloc_slowpath moved during it (___slab_alloc: CPU
    freelist empty -> refill, partial lists under list_lock, or new_slab), a
    free if free_slowpath moved (__slab_free: object of a slab that is not
    the CPU slab, slab_lock and maybe list_lock).  Returns medians in us.
    """
    import statistics
    from kernel_model.slab_common import ALLOC_SLOWPATH, FREE_SLOWPATH
    with km.boot(total="64M", page_data=True, slab="slub", slub_debug=False):
        c = km.kmem_cache_create("perop", 64)
        sv, base = c.statv, c.stat_base
        alloc, free, clock = km.kmem_cache_alloc, km.kmem_cache_free, time.perf_counter_ns
        times = {"alloc_fast": [], "alloc_slow": [], "free_fast": [], "free_slow": []}
        done = 0
        while done < n:
            objs = []
            for _ in range(batch):
                before = sv[base + ALLOC_SLOWPATH]
                t0 = clock()
                o = alloc(c, km.GFP_KERNEL)
                t1 = clock()
                objs.append(o)
                times["alloc_slow" if sv[base + ALLOC_SLOWPATH] != before else "alloc_fast"].append(t1 - t0)
            # free in a shuffled but fixed order so some frees hit the CPU slab
            for o in objs[::2] + objs[1::2]:
                before = sv[base + FREE_SLOWPATH]
                t0 = clock()
                free(c, o)
                t1 = clock()
                times["free_slow" if sv[base + FREE_SLOWPATH] != before else "free_fast"].append(t1 - t0)
            done += batch
        return {k: (statistics.median(v) / 1000 if v else float("nan"), len(v))
                for k, v in times.items()}


def two_cpu_rate(n):
    with km.boot(total="64M", nr_cpus=2, page_data=True, slab="slub", slub_debug=False):
        pipes = []
        for cpu in range(2):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                context.set_this_cpu(context.CPU(cpu))
                pairs_per_second(km.kmalloc, km.kfree, 64, 2000)
                rate = pairs_per_second(km.kmalloc, km.kfree, 64, n)
                os.write(w, f"{rate}".encode())
                os._exit(0)
            os.close(w)
            pipes.append((pid, r))
        rates = []
        for pid, r in pipes:
            rates.append(float(os.read(r, 100)))
            os.close(r)
            os.waitpid(pid, 0)
        return rates


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
    for k in ("alloc", "free"):
        (f, nf), (sl, ns) = costs[k + "_fast"], costs[k + "_slow"]
        print(f"  {k:5s}: fast path {f:5.2f} us ({nf} ops), slow path {sl:6.2f} us ({ns} ops), "
              f"slow/fast {sl / f:4.1f}x  target >= 3x: {'ok' if sl / f >= 3 else 'MISSED'}")
    slab = kmalloc_rate("slab", n)
    print("SLUB vs SLAB (kmalloc(64)+kfree, 1 CPU, debug off)")
    print(f"  SLUB {slub:10.0f} pairs/s   SLAB {slab:10.0f} pairs/s   SLUB/SLAB {slub / slab:4.2f}")
    dbg = kmalloc_rate("slub", n // 10, debug=True)
    print(f"SLUB with slub_debug (poison, redzones, tracks): {dbg:10.0f} pairs/s "
          f"({1e6 / dbg:5.2f} us/pair)")


if __name__ == "__main__":
    main()
