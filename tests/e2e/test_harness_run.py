"""End to end: two CPUs, all four contexts, real interrupts, cross-CPU frees, zero violations."""

import dataclasses
import re

import psutil

from shm_segments import own_segments
from harness.supervisor import machine
from harness.outputs import report
from harness import scenario
from harness.runtime import opmix


def _children():
    return {p.pid for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline() or [])}


def test_larson_two_cpus_all_contexts_real_interrupts_zero_violations():
    sc = dataclasses.replace(scenario.resolve("larson"), duration=1.0, memory="32M")
    assert sc.checkers                                   # every checker installed
    before = _children()
    res = machine.run(sc, seed=11)
    run = report.run_dict(res)
    assert run["status"] == "passed", report.summary(run)
    assert res.exit_code == 0 and run["violations"] == [] and run["failures"] == []
    assert run["invariants"] == [] and run["memory"]["checked"]
    irq = run["interrupts"]
    for cpu in irq["by_cpu"]:                            # interrupts really delivered on each CPU ...
        assert cpu["delivered"] > 0 and cpu["softirqs"] > 0 and cpu["tasklets"] > 0
    assert irq["in_model_code"] > 0                      # ... and seen arriving inside model code
    for cpu in run["ops"]["by_cpu"]:
        for ctx in ("process", "hardirq", "softirq", "tasklet"):
            assert cpu["contexts"][ctx]["calls"] > 0, (cpu["cpu"], ctx)
        assert cpu["contexts"]["process"]["ops"]["kfree"] > 0
    mb = run["mailbox"]
    assert mb["received"] > 0 and mb["received"] == mb["sent"] and mb["leftover"] == 0
    assert all(v > 0 for v in run["percpu"]["iterations"])
    assert _children() <= before and own_segments() == []


def test_pages_only_smoke_frees_every_page_and_reproduces_with_ops():
    with open(scenario.SMOKE_PATH) as f:      # smoke without its slab and vmalloc ops
        pages_only = re.sub(r'\{ op = "(kmalloc|kzalloc|kmem_cache_alloc|vmalloc)"[^}]*\},?', "", f.read())
    pages_only = pages_only.replace("[memory]\n", "[allocator]\nslab = \"none\"\n\n[memory]\n", 1)
    sc = dataclasses.replace(scenario.parse(pages_only, scenario.SMOKE_PATH, "smoke"),
                             duration=None, ops=300, memory="32M")
    assert sc.slab is None and all(s.op not in opmix.SLAB_OPS for m in sc.mixes.values() for s in m.specs)
    res = machine.run(sc, seed=3, irq_mask="sigmask")
    run = report.run_dict(res)
    assert res.exit_code == 0, report.summary(run)
    assert run["memory"]["free_pages_at_end"] == run["memory"]["nr_pages"]   # nothing leaked
    assert all(c["contexts"]["process"]["calls"] == 300 + 1 for c in run["ops"]["by_cpu"])  # + teardown
    assert run["reproduce"] == "mmstress run smoke --seed 3 --cpus 2 --ops 300 --irq-mask sigmask"
