"""kmemleak reports unreferenced objects only: roots, transitive references, cycles.

End to end: a correct driver whose interrupt handlers hand objects to the
other CPU through the mailboxes, and whose teardown leaves the mailbox as it
is, is clean over 50 seeds with the CPUs truly parallel (``none``) and over
50 seeds of a reproducible schedule (``random``); a real leak is still
reported (once per allocation site, never as allocator corruption).  In
process: what a root or a live object's memory points to is referenced; an
unreachable cycle is leaked.
"""

import os

import pytest

from harness.outputs.text import render

import kernel_model as km
from harness import checkers, scenario
from harness.checkers import kmemleak
from harness.scheduler.options import SchedOptions
from harness.supervisor import machine
from kernel_model import debug, gfp as g

GK = g.GFP_KERNEL
SEEDS = int(os.environ.get("MMSTRESS_LEAK_SEEDS", "50"))

DRIVER = """
from kernel_model.gfp import GFP_ATOMIC

def hardirq(k):
    # the device's interrupt: a buffer for the other CPU to process
    buf = k.kmalloc(64, GFP_ATOMIC)
    if buf is not None and not k.send((k.cpu + 1) % k.nr_cpus, buf):
        k.kfree(buf)

def process(k):
    buf = k.recv()
    if buf is not None:
        k.kfree(buf)

def teardown(k):
    pass      # buffers still queued stay queued: the mailbox refers to them
"""

LEAKS = """
from kernel_model.gfp import GFP_KERNEL
lost = []

def process(k):
    lost.append(k.kmalloc(96, GFP_KERNEL))
    if len(lost) > 4:
        k.kfree(lost.pop(0))

def teardown(k):
    lost.clear()      # the references are dropped; the objects were never freed
"""


def _scenario(tmp_path, monkeypatch, name, code, extra=""):
    (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / f"{name}.toml"
    path.write_text(f'description = "{name}"\ncpus = 2\nduration = "150ms"\nworkload = "{name}"\n'
                    f'[memory]\nsize = "32M"\n[allocator]\nslab = "slub"\n{extra}')
    return scenario.load(str(path))


def _reports(result):
    return ([f"{v['kind']}: {v['title']}" for v in result.violations]
            + [f"{f['kind']}: {f['message']}" for f in result.failures]
            + [f"invariant: {p}" for p in result.invariants])


@pytest.mark.parametrize("sched", ["none", "random"])
def test_a_driver_that_leaves_objects_in_the_mailbox_is_clean(tmp_path, monkeypatch, sched):
    sc = _scenario(tmp_path, monkeypatch, "mbox_driver", DRIVER, "[interrupts]\nrate = 2000\n")
    opts = SchedOptions(strategy="random", irq_rate=0.2) if sched == "random" else None
    if opts is not None:
        sc.ops = 40
    queued = 0
    for seed in range(1, SEEDS + 1):
        result = machine.run(sc, seed, sched=opts)
        assert not _reports(result), f"seed {seed}: {_reports(result)}"
        assert result.exit_code == 0 and result.memory["checked"]
        queued += sum(result.counters["stat"][c][_stat("mbox_leftover")] for c in range(2))
    assert queued > 0, "no run ended with objects in a mailbox: the test shows nothing"


def _stat(name):
    from harness.runtime import counters as C
    return C.STAT[name]


def test_a_real_leak_is_reported_once_per_site_and_never_as_corruption(tmp_path, monkeypatch):
    sc = _scenario(tmp_path, monkeypatch, "real_leak", LEAKS)
    result = machine.run(sc, 3)
    leaks = [v for v in result.violations if v["kind"] == "leak"]
    assert len(leaks) == 1 and leaks[0]["count"] == 1, _reports(result)
    assert "kmemleak: 8 new suspected memory leaks" in render(leaks[0])   # 4 per CPU
    assert "real_leak.py:6 (process)" in leaks[0]["site"]
    assert result.invariants == [] and result.exit_code == 1


DOUBLE = """
from kernel_model.gfp import GFP_KERNEL
cache = []                 # the driver's pool: still referenced when the run ends

def process(k):
    obj = k.kmalloc(64, GFP_KERNEL)
    k.kfree(obj)
    if k.rng.random() < 0.05:
        k.kfree(obj)       # the bug: an error path frees again
    if len(cache) < 32:
        cache.append(k.kmalloc(64, GFP_KERNEL))
"""


def test_a_double_free_is_not_drowned_in_leaks_or_allocator_corruption(tmp_path, monkeypatch):
    sc = _scenario(tmp_path, monkeypatch, "double_pool", DOUBLE)
    result = machine.run(sc, 1)
    assert {v["kind"] for v in result.violations} == {"double-free"}, _reports(result)
    assert result.invariants == [] and result.memory["checked"]


# --- in process: the scan itself ----------------------------------------------------------------
@pytest.fixture
def node():
    with km.boot(total="32M", nr_cpus=2, page_data=True, slab="slub",
                 extra_sections=checkers.arena_sections(("memory", "kmemleak"))) as n:
        old = debug.install(checkers.build(["memory"], n))
        try:
            yield n
        finally:
            debug.install(old)


def _point(node, obj, target, at=0):
    off = obj + at - node.page_offset
    node.data[off:off + 8] = target.to_bytes(8, "little")


def _leaked(node, roots):
    vs = kmemleak.KmemleakChecker(None, node).scan(roots)
    return {o["address"] for v in vs for o in v.objects}


def test_an_object_reachable_only_through_another_live_object_is_not_a_leak(node):
    head, child, grandchild = (km.kmalloc(64, GK) for _ in range(3))
    _point(node, head, child, at=16)
    _point(node, child, grandchild + 8)         # an interior pointer keeps it too
    assert _leaked(node, [head]) == set()
    assert _leaked(node, []) == {head, child, grandchild}
    assert _leaked(node, [child]) == {head}


def test_an_unreachable_cycle_is_a_leak(node):
    a, b, kept = (km.kmalloc(128, GK) for _ in range(3))
    _point(node, a, b)
    _point(node, b, a)
    assert _leaked(node, [kept]) == {a, b}


def test_roots_are_collected_from_nested_state():
    class Dev:
        def __init__(self):
            self.ring = [(1, 0x1000), {"buf": 0x2000}]
    got = kmemleak.collect_roots([{"devs": [Dev()], "n": True}, 0x3000, "0x4000"])
    assert got == [1, 0x1000, 0x2000, 0x3000]
