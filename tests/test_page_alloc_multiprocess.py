"""Two CPU processes allocate and free through one arena; invariants hold after."""

import os
import random
import time

import kernel_model as km
from kernel_model import context, gfp as g, invariants, page_alloc, pcp
from kernel_model.zone import PGALLOC

ALLOC = page_alloc.__alloc_pages
FREE = page_alloc.__free_pages
GFPS = (g.GFP_KERNEL, g.GFP_ATOMIC, g.GFP_NOWAIT, g.GFP_KERNEL | g.__GFP_DMA, g.GFP_DMA32)


def cpu_main(node, cpu, seconds, seed):
    context.set_this_cpu(context.CPU(cpu))
    rng = random.Random(seed * 1000 + cpu)
    held = []
    ops = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(200):
            if held and (len(held) > 300 or rng.random() < 0.5):
                pfn, order = held.pop(rng.randrange(len(held)))
                FREE(node, pfn, order)
            else:
                order = rng.choice((0, 0, 0, 1, 2, 3, 4, 6))
                pfn = ALLOC(node, rng.choice(GFPS) | g.__GFP_NOWARN, order)
                if pfn is not None:
                    if node.mem_map.ref[pfn] != 1 or node.mem_map.owner[pfn] != cpu:
                        os._exit(3)            # someone else got the same page
                    held.append((pfn, order))
            ops += 1
    for pfn, order in held:
        FREE(node, pfn, order)
    return ops


def test_two_cpus_keep_the_invariants():
    with km.boot(total="24M", nr_cpus=2, max_locks=32) as node:
        pids = []
        for cpu in range(2):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    cpu_main(node, cpu, 2.0, seed=7)
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        for pid in pids:
            assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert invariants.check_page_allocator(node, {}) == []
        contended = sum(km.spinlock.lock_stats(z.lock)["contended"] for z in node.zones)
        assert sum(z.m[PGALLOC] for z in node.zones) > 1000
        pcp.drain_all_pages(node)
        assert node.total_free_pages() == node.nr_pages
        print("zone lock contentions:", contended)
