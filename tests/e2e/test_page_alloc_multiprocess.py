"""Two CPU processes allocate and free through one arena; invariants hold after.

Each CPU does a fixed number of operations (not a time): the counts it asserts
do not depend on how loaded the machine is."""

import os
import random

import kernel_model as km
from kernel_model import context, gfp as g, invariants, page_alloc, pcp
from kernel_model.zone import PGALLOC

ALLOC = page_alloc.__alloc_pages
FREE = page_alloc.__free_pages
GFPS = (g.GFP_KERNEL, g.GFP_ATOMIC, g.GFP_NOWAIT, g.GFP_KERNEL | g.__GFP_DMA, g.GFP_DMA32)


OPS = 40_000                   # per CPU: about half a second each on an idle core


def cpu_main(node, cpu, ops, seed):
    context.set_this_cpu(context.CPU(cpu))
    rng = random.Random(seed * 1000 + cpu)
    held = []
    for _ in range(ops):
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
    for pfn, order in held:
        FREE(node, pfn, order)


def test_two_cpus_keep_the_invariants():
    with km.boot(total="24M", nr_cpus=2, max_locks=32) as node:
        pids = []
        for cpu in range(2):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    cpu_main(node, cpu, OPS, seed=7)
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        for pid in pids:
            assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert invariants.check_page_allocator(node, {}) == []
        contended = sum(km.spinlock.lock_stats(z.lock)["contended"] for z in node.zones)
        assert sum(z.m[PGALLOC] for z in node.zones) > OPS // 2  # about half the ops allocate
        pcp.drain_all_pages(node)
        assert node.total_free_pages() == node.nr_pages
        print("zone lock contentions:", contended)
