"""The memory-family planted bugs of scenarios/bugs/ are found by a real run, with
the right kind, the kernel's header and the sites; their correct twins are clean.

Runs each scenario through ``harness.supervisor.machine.run`` as ``mmstress run`` does, but
shorter than the files say (ops or duration cut) to keep this file quick; the
two planted SLUB bugs keep 2 CPUs and frequent hardirqs, and their scenario
without the planted switch must not show the damage the switch causes.
"""

import os

import pytest

from harness.supervisor import machine
from harness import scenario
from harness.outputs.text import render

BUGS = os.path.join(scenario.SCENARIO_DIR, "bugs")
SEED = 1234

# scenario -> (kind, a line the report must contain)
CATALOGUE = {
    "double_free": ("double-free", "BUG: KASAN: double-free in kfree"),
    "double_free_cross_cpu": ("double-free", "BUG: KASAN: double-free in kfree"),
    "invalid_free": ("invalid-free", "BUG: KASAN: invalid-free in kfree"),
    "wrong_cache": ("wrong-cache", "kmem_cache_free: Wrong slab cache. bug_req but object is "
                                   "from bug_resp"),
    "use_after_free": ("use-after-free", "BUG: KASAN: slab-use-after-free in process"),
    "out_of_bounds": ("out-of-bounds", "BUG: KASAN: slab-out-of-bounds in process"),
    "bad_page": ("bad-page", "BUG: Bad page state in process"),
    "bad_vfree": ("bad-vfree", "Trying to vfree() bad address"),
    "leak": ("leak", "unreferenced object 0x"),
    "cache_destroy_live": ("cache-destroy-live", "BUG bug_conn (Not tainted): Objects remaining "
                                                 "in bug_conn on __kmem_cache_shutdown()"),
}
PLANTED = ("slub_fastpath_no_irq", "slub_skip_double_free")


def load(name, short=True):
    sc = scenario.resolve(os.path.join(BUGS, name + ".toml"))
    if short and sc.ops:
        sc.ops = min(sc.ops, 120)
    return sc


def everything(result):
    return ([(v["kind"], v["title"]) for v in result.violations]
            + [(f["kind"], f["message"]) for f in result.failures]
            + [("invariant", p) for p in result.invariants])


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_bug_is_reported_with_kind_header_and_sites(name):
    kind, header = CATALOGUE[name]
    sc = load(name)
    assert sc.expect == [kind]
    result = machine.run(sc, SEED)
    mine = [v for v in result.violations if v["kind"] == kind]
    assert mine, everything(result)
    v = mine[0]
    text = render(v)
    assert header in text
    assert f"scenarios/workloads/bugs/{name}.py" in v["site"]
    if kind not in ("bad-page", "bad-vfree"):
        assert f"{name}.py:" in v["tracks"]["alloc"]["site"]
    if kind in ("double-free", "use-after-free"):
        assert "Freed by task" in text and f"{name}.py:" in v["tracks"]["free"]["site"]


@pytest.mark.parametrize("name", sorted(CATALOGUE) + list(PLANTED))
def test_correct_twin_is_clean(name):
    sc = load(name + "_ok")
    assert sc.expect == []
    if not sc.ops:
        sc.duration = 1.0
    result = machine.run(sc, SEED)
    assert everything(result) == []
    assert result.exit_code == 0


def test_leaks_are_reported_once_per_site_naming_each_allocating_cpu():
    """kmemleak's list is global: one record per allocation site over every CPU,
    each object with the CPU that allocated it (its alloc track)."""
    result = machine.run(load("leak"), SEED)
    leaks = [v for v in result.violations if v["kind"] == "leak"]
    assert len(leaks) == 1                           # one allocation site: one report
    v = leaks[0]
    assert {o["alloc"]["cpu"] for o in v["objects"] if o.get("alloc")} <= {0, 1}
    addrs = [o["address"] for o in v["objects"]]
    assert addrs and len(addrs) == len(set(addrs))
    text = render(v)
    assert "unreferenced object" in text and "kmemleak: " in text


@pytest.mark.parametrize("name", PLANTED)
def test_planted_slub_bug_is_found_and_the_model_without_it_is_not(name):
    sc = load(name)
    assert sc.planted == [name] and sc.cpus == 2
    found = machine.run(sc, SEED)
    kinds = {v["kind"] for v in found.violations}
    assert "freelist-corrupt" in kinds, everything(found)
    corrupt = next(v for v in found.violations if v["kind"] == "freelist-corrupt")
    assert "BUG kmalloc-64 (Not tainted): Freechain corrupt" in render(corrupt)

    sc = load(name)
    sc.planted = []
    sc.duration = 1.0
    clean = machine.run(sc, SEED)
    assert "freelist-corrupt" not in {v["kind"] for v in clean.violations}, everything(clean)
    assert clean.invariants == []
