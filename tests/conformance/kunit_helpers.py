"""Helpers of the kernel's own KUnit cases as conformance tests: a booted model, the checkers
installed as a CPU installs them, and the real ``k`` workload API -- in-process.

``kunit`` gives (k, node, hooks); ``kasan_fail(hooks, kind)`` is
KUNIT_EXPECT_KASAN_FAIL: the block must produce exactly one new report (one
violation, or one more count of a merged one) and it must be of ``kind``;
``no_report(hooks)`` is the kernel tests' kasan_test_exit check: nothing at
all.  Generic KASAN's quarantine is on (the kernel's uaf tests rely on a freed
object not being handed out again at once).
"""

import contextlib
from types import SimpleNamespace

import pytest

import kernel_model as km
from harness import checkers
from harness.runtime import counters as C
from harness.runtime.workload_api import Kernel
from kernel_model import context, debug, planted

NAMES = ("memory", "kasan_pages")
TOTAL = "64M"
QUARANTINE = 64          # objects per CPU (kasan's quarantine, scaled to the model)


class _Locks:
    def get(self, name):
        raise NotImplementedError("the conformance cases take no workload locks")


def make_k(node, cpu=0):
    """The workload API of CPU ``cpu``'s process context, without a CPU process."""
    n = C.NR_CTX * len(C.OPS) * node.nr_cpus + 64
    rt = SimpleNamespace(cpu_id=cpu, nr_cpus=node.nr_cpus, ops=[0] * n,
                         stat=[0] * (C.NR_STATS * node.nr_cpus), sbase=cpu * C.NR_STATS,
                         doing=[0] * node.nr_cpus, node=node, locks=_Locks())
    return Kernel(rt, C.X_PROCESS, None)


@pytest.fixture
def kunit():
    layout = km.MemoryLayout(total=TOTAL)
    with km.boot(layout, nr_cpus=2, page_data=True, slab="slub",
                 extra_sections=checkers.arena_sections(NAMES, nr_pages=layout.nr_pages)) as node:
        hooks = checkers.build(list(NAMES), node)
        old = debug.install(hooks)
        old_cpu = context.this_cpu
        context.set_this_cpu(context.CPU(0, pid=4242, comm="kunit_try_catch"))
        node.slab.quarantine_max = QUARANTINE
        try:
            yield make_k(node), node, hooks
        finally:
            context.set_this_cpu(old_cpu)
            debug.install(old)
            planted.reset()


def reports(hooks):
    return sum(v.count for v in hooks.sink.violations)


@contextlib.contextmanager
def kasan_fail(hooks, kind):
    """KUNIT_EXPECT_KASAN_FAIL: exactly one report, of ``kind`` (``.v`` after the block)."""
    before = reports(hooks)
    seen = {id(v): v.count for v in hooks.sink.violations}
    got = SimpleNamespace(v=None)
    yield got
    assert reports(hooks) == before + 1, [v.title for v in hooks.sink.violations]
    new = [v for v in hooks.sink.violations if v.count != seen.get(id(v), 0)]
    assert len(new) == 1 and new[0].kind == kind, [(v.kind, v.title) for v in new]
    got.v = new[0]


@contextlib.contextmanager
def no_report(hooks):
    before = reports(hooks)
    yield
    assert reports(hooks) == before, [v.title for v in hooks.sink.violations]
