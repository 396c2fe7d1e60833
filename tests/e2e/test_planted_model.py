"""Planted model bugs are found by stress on 2 cores, within a bounded number of attempts.

Each test runs two CPU processes over one arena with one switch of
kernel_model.planted on, and requires the damage to be found: the invariant
checker names a corrupt structure, or a CPU sees a page handed out twice.
The same stress without the switch is clean (test_page_alloc_multiprocess).
Stress is counted in operations, never in seconds.
"""

import os
import random

import kernel_model as km
from kernel_model import context, gfp as g, invariants, page_alloc, planted

ALLOC = page_alloc.__alloc_pages
FREE = page_alloc.__free_pages


OPS = 100_000                  # per CPU per attempt: about a second on an idle core
ATTEMPTS = 10


def stress(node, cpu, ops):
    context.set_this_cpu(context.CPU(cpu))
    rng = random.Random(cpu)
    held = []
    for _ in range(ops):
        if held and (len(held) > 64 or rng.random() < 0.5):
            pfn, order = held.pop(rng.randrange(len(held)))
            FREE(node, pfn, order)
        else:
            order = rng.choice((0, 4, 5))          # orders above 3 bypass the pcp lists
            pfn = ALLOC(node, g.GFP_ATOMIC | g.__GFP_NOWARN, order)
            if pfn is not None:
                if node.mem_map.owner[pfn] != cpu:
                    return 3                       # handed out twice
                held.append((pfn, order))
    for pfn, order in held:
        FREE(node, pfn, order)
    return 0


def run_two_cpus(ops):
    with km.boot(total="24M", nr_cpus=2, max_locks=32) as node:
        pids = []
        for cpu in range(2):
            pid = os.fork()
            if pid == 0:
                code = 4
                try:
                    planted.plant(["no_zone_lock_in_free"])
                    code = stress(node, cpu, ops)
                except BaseException:
                    code = 5                       # crashed on a corrupt list
                finally:
                    os._exit(code)
            pids.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
        problems = invariants.check_page_allocator(node, {})
        return codes, problems


def test_free_without_zone_lock_is_found():
    for _ in range(ATTEMPTS):
        codes, problems = run_two_cpus(OPS)
        if problems or any(codes):
            return
    raise AssertionError(f"removing zone->lock from __free_one_page went unnoticed in "
                         f"{ATTEMPTS} attempts of {OPS:,} operations per CPU")


def test_unknown_planted_name_is_an_error():
    import pytest
    with pytest.raises(ValueError, match="unknown planted bug"):
        planted.plant(["no_such_bug"])
