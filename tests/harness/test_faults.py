"""The fault injector (harness/runtime/faults.py) against lib/fault-inject.c, mm/failslab.c and
mm/fail_page_alloc.c, and the [fault] section of a scenario."""

import pytest

from harness.runtime import faults
from harness import scenario
from harness.runtime.faults import FaultAttr, FaultConfig, FaultInjector
from kernel_model import context
from kernel_model.gfp import (GFP_ATOMIC, GFP_HIGHUSER, GFP_KERNEL, GFP_NOWAIT, __GFP_NOFAIL,
                              __GFP_NOWARN)


def injector(slab=None, page=None, fail_nth=0, seed=0, sizes=None):
    cfg = FaultConfig(fail_nth=fail_nth)
    if slab is not None:
        cfg.failslab = slab
    if page is not None:
        cfg.fail_page_alloc = page
    return FaultInjector(cfg, cpu=0, seed=seed, cache_size=(sizes or {}).get)


def slab(**kw):
    return FaultAttr("failslab", **{"verbose": 0, **kw})


def page(**kw):
    return FaultAttr("fail_page_alloc", **{"verbose": 0, **kw})


def run_slab(inj, n, gfp=GFP_ATOMIC, cache="kmalloc-64"):
    return [inj.should_failslab(cache, gfp) for _ in range(n)]


def test_defaults_are_the_kernels():
    a = FaultAttr("x")
    assert (a.probability, a.interval, a.times, a.space, a.verbose) == (0, 1, 1, 0, 2)
    assert a.ignore_gfp_wait and a.ignore_gfp_highmem and a.min_order == 1 and not a.cache_filter
    assert not FaultConfig().active


def test_probability_100_times_limits_failures():
    inj = injector(slab=slab(probability=100, times=3))
    assert run_slab(inj, 6) == [True] * 3 + [False] * 3
    assert inj.injected["failslab"] == 3


def test_times_minus_one_is_unlimited():
    inj = injector(slab=slab(probability=100, times=-1))
    assert all(run_slab(inj, 50))


def test_probability_zero_never_fails():
    inj = injector(slab=slab(probability=0, times=-1))
    assert not any(run_slab(inj, 200))


def test_interval_fails_every_nth_eligible_call():
    inj = injector(slab=slab(probability=100, times=-1, interval=4))
    got = run_slab(inj, 12)
    assert [i for i, f in enumerate(got) if f] == [3, 7, 11]


def test_probability_is_about_right_and_seeded():
    a = run_slab(injector(slab=slab(probability=30, times=-1), seed=7), 2000)
    b = run_slab(injector(slab=slab(probability=30, times=-1), seed=7), 2000)
    c = run_slab(injector(slab=slab(probability=30, times=-1), seed=8), 2000)
    assert a == b and a != c
    assert 450 < sum(a) < 750


def test_space_is_consumed_by_size_before_failing():
    # 64-byte objects, space 200: calls 1-3 take 192 bytes of space, call 4 sees 8 <= 64 and fails
    inj = injector(slab=slab(probability=100, times=-1, space=200), sizes={"c64": 64})
    got = run_slab(inj, 5, cache="c64")
    assert got == [False, False, False, True, True]
    # fail_page_alloc counts pages: order 2 = 4 pages
    inj = injector(page=page(probability=100, times=-1, space=9, min_order=0))
    assert [inj.should_fail_alloc_page(GFP_ATOMIC, 2) for _ in range(4)] == [False, False, True, True]


def test_ignore_gfp_wait():
    inj = injector(slab=slab(probability=100, times=-1))
    assert not inj.should_failslab("c", GFP_KERNEL)          # may reclaim: skipped (default Y)
    assert inj.should_failslab("c", GFP_ATOMIC) and inj.should_failslab("c", GFP_NOWAIT)
    inj = injector(slab=slab(probability=100, times=-1, ignore_gfp_wait=False))
    assert inj.should_failslab("c", GFP_KERNEL)


def test_nofail_is_never_injected():
    inj = injector(slab=slab(probability=100, times=-1, ignore_gfp_wait=False),
                   page=page(probability=100, times=-1, ignore_gfp_wait=False,
                             ignore_gfp_highmem=False, min_order=0), fail_nth=1)
    assert not inj.should_failslab("c", GFP_KERNEL | __GFP_NOFAIL)
    assert not inj.should_fail_alloc_page(GFP_KERNEL | __GFP_NOFAIL, 0)
    assert not inj.should_fail_alloc_page(GFP_ATOMIC | __GFP_NOFAIL, 3)
    assert inj.fail_nth == 1                                  # NOFAIL did not consume fail-nth
    assert inj.should_fail_alloc_page(GFP_ATOMIC, 0)


def test_fail_page_alloc_exclusions():
    inj = injector(page=page(probability=100, times=-1))      # kernel defaults otherwise
    assert not inj.should_fail_alloc_page(GFP_ATOMIC, 0)      # order < min-order 1
    assert not inj.should_fail_alloc_page(GFP_KERNEL, 2)      # ignore-gfp-wait
    assert not inj.should_fail_alloc_page(GFP_HIGHUSER & ~GFP_KERNEL | GFP_ATOMIC, 1)  # highmem
    assert inj.should_fail_alloc_page(GFP_ATOMIC, 1)
    inj = injector(page=page(probability=100, times=-1, min_order=3))
    assert [inj.should_fail_alloc_page(GFP_ATOMIC, o) for o in range(5)] == [False] * 3 + [True] * 2


def test_cache_filter_and_bootstrap_cache():
    inj = injector(slab=slab(probability=100, times=-1, cache_filter=True, caches=("task_struct",)))
    assert inj.should_failslab("task_struct", GFP_ATOMIC)
    assert not inj.should_failslab("inode_cache", GFP_ATOMIC)
    inj = injector(slab=slab(probability=100, times=-1))
    assert not inj.should_failslab("kmem_cache", GFP_ATOMIC)


def test_fail_nth_fails_exactly_the_nth_call_in_task_context():
    inj = injector(fail_nth=3)
    got = [inj.should_failslab("c", GFP_ATOMIC) for _ in range(5)]
    assert got == [False, False, True, False, False]
    inj.context_exit()                                        # the process iteration ended: re-armed
    assert [inj.should_fail_alloc_page(GFP_ATOMIC, 1) for _ in range(3)] == [False, False, True]


def test_fail_nth_is_not_consumed_in_interrupt_context():
    inj = injector(fail_nth=1)
    cpu = context.this_cpu
    cpu.preempt_count += context.HARDIRQ_OFFSET
    try:
        assert not context.in_task()
        assert not inj.should_failslab("c", GFP_ATOMIC)
    finally:
        cpu.preempt_count -= context.HARDIRQ_OFFSET
    assert inj.fail_nth == 1 and inj.should_failslab("c", GFP_ATOMIC)


def test_verbose_prints_unless_nowarn(monkeypatch):
    printed = []
    monkeypatch.setattr(faults.debug, "printk", printed.append)
    inj = injector(slab=slab(probability=100, times=-1, verbose=1))
    inj.should_failslab("c", GFP_ATOMIC | __GFP_NOWARN)
    assert printed == []
    inj.should_failslab("c", GFP_ATOMIC)
    assert printed and printed[0].startswith("FAULT_INJECTION: forcing a failure.\nname failslab")


def test_counter_slot_gets_each_injection():
    seen = []
    cfg = FaultConfig(failslab=slab(probability=100, times=2))
    inj = FaultInjector(cfg, cpu=0, seed=0, count_slot=lambda name: lambda n: seen.append((name, n)))
    run_slab(inj, 4)
    assert seen == [("failslab_injected", 1)] * 2


# -- the [fault] section ----------------------------------------------------------------------
GOOD = """\
[allocator]
slab = "slub"
[fault]
fail-nth = 5
[fault.failslab]
probability = 10
times = -1
ignore-gfp-wait = false
cache-filter = true
caches = ["task_struct"]
[fault.fail_page_alloc]
probability = 5
min_order = 0
ignore-gfp-highmem = false
[process]
ops = [ { op = "kmalloc" } ]
"""


def test_fault_section_parses():
    sc = scenario.parse(GOOD, "f.toml", "f")
    f = sc.fault
    assert f.fail_nth == 5 and f.active
    assert (f.failslab.probability, f.failslab.times, f.failslab.ignore_gfp_wait,
            f.failslab.cache_filter, f.failslab.caches) == (10, -1, False, True, ("task_struct",))
    assert (f.fail_page_alloc.probability, f.fail_page_alloc.min_order,
            f.fail_page_alloc.ignore_gfp_highmem, f.fail_page_alloc.times) == (5, 0, False, 1)
    assert sc.checkers.faults is f


@pytest.mark.parametrize("old,new,line,key,allowed", [
    ("probability = 10", "probabilty = 10", 6, "fault.failslab.probabilty", "probability"),
    ("probability = 10", "probability = 101", 6, "fault.failslab.probability", "0 to 100"),
    ("times = -1", "times = -2", 7, "fault.failslab.times", "-1 to"),
    ("min_order = 0", "min_order = 11", 13, "fault.fail_page_alloc.min_order", "0 to 10"),
    ("min_order = 0", "cache-filter = true", 13, "fault.fail_page_alloc.cache-filter", "min-order"),
    ("fail-nth = 5", "fail-nht = 5", 4, "fault.fail-nht", "fail-nth"),
    ("cache-filter = true", "cache-filter = 1", 9, "fault.failslab.cache-filter", "true or false"),
    ('caches = ["task_struct"]', "caches = [1]", 10, "fault.failslab.caches", "cache names"),
])
def test_fault_section_errors_name_file_line_key(old, new, line, key, allowed):
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.parse(GOOD.replace(old, new), "f.toml", "f")
    msg = str(e.value)
    assert msg.startswith(f"f.toml:{line}: {key}:"), msg
    assert allowed in msg


def test_fault_section_one_knob_in_two_spellings_is_an_error():
    text = GOOD.replace("ignore-gfp-wait = false", "ignore-gfp-wait = false\nignore_gfp_wait = true")
    with pytest.raises(scenario.ScenarioError, match="given twice"):
        scenario.parse(text, "f.toml", "f")
