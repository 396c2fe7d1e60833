"""harness/runtime/samples.py: samples of the arena over time, bounded, decoded for the report."""

import kernel_model as km
from kernel_model.gfp import GFP_KERNEL

from harness.runtime import counters as C
from harness.runtime import samples


def boot(nr_cpus=2):
    sections = C.arena_sections(nr_cpus) + samples.arena_sections(nr_cpus)
    return km.boot(total="16M", nr_cpus=nr_cpus, slab="slub", page_data=True,
                   extra_sections=sections)


def test_a_sample_copies_the_zone_and_slab_counters_at_that_moment():
    with boot() as node:
        sampler = samples.Sampler(node.arena, 2, samples.CLOCK_STEP)
        sampler.take(0)
        ptrs = [km.kmalloc(64, GFP_KERNEL) for _ in range(50)]
        page = km.alloc_pages(GFP_KERNEL, 3)
        node.arena.np("cpu_ops")[C.ops_base(1, C.X_SOFTIRQ) + C.OP_CALL] = 7
        sampler.take(10)
        out = samples.decode(node, 2)
        km.__free_pages(page, 3)
        for p in ptrs:
            km.kfree(p)
        zone = max((z for z in node.zones if z.populated()), key=lambda z: z.managed_pages())
        populated = [z.name for z in node.zones if z.populated()]
        names = [z["name"] for z in out["zones"]]
    assert names == populated
    assert out["clock"] == "step" and out["t"] == [0, 10]
    z = out["zones"][names.index(zone.name)]
    assert z["free"][1] < z["free"][0]                       # pages went to the slab and the order-3 block
    assert z["min"][0] == z["min"][1] and z["min"][0] < z["low"][0] < z["high"][0]
    assert len(z["nr_free"]) == 11 and all(len(s) == 2 for s in z["nr_free"])
    kmalloc64 = next(c for c in out["caches"] if c["name"] == "kmalloc-64")
    assert kmalloc64["alloc_fastpath"][1] + kmalloc64["alloc_slowpath"][1] == 50
    assert kmalloc64["alloc_fastpath"][0] == 0
    assert out["cpus"][1]["calls"]["softirq"] == [0, 7] and out["cpus"][0]["calls"]["softirq"] == [0, 0]
    assert any(lk["acquired"][1] > lk["acquired"][0] for lk in out["locks"])


def test_idle_caches_and_empty_zones_are_left_out():
    with boot() as node:
        sampler = samples.Sampler(node.arena, 2, samples.CLOCK_MS)
        sampler.take(0)
        out = samples.decode(node, 2)
    assert out["clock"] == "ms"
    assert out["caches"] == []                              # nothing allocated
    assert all(any(z["free"]) for z in out["zones"])        # only populated zones


def test_tick_samples_only_when_due():
    with boot() as node:
        sampler = samples.Sampler(node.arena, 2, samples.CLOCK_STEP)
        every = samples.INTERVAL_STEPS
        for step in range(1, 4 * every + 10):
            sampler.tick(step)
        out = samples.decode(node, 2)
    assert out["t"] == [every, 2 * every, 3 * every, 4 * every]


def test_the_ring_halves_and_doubles_its_interval_when_full():
    with boot() as node:
        sampler = samples.Sampler(node.arena, 2, samples.CLOCK_STEP)
        sampler.take(0)
        last = 5 * samples.CAPACITY * samples.INTERVAL_STEPS
        for step in range(1, last + 1):
            sampler.tick(step)
        out = samples.decode(node, 2)
    t = out["t"]
    assert len(t) <= samples.CAPACITY
    assert t == sorted(t) and t[0] == 0
    gaps = {b - a for a, b in zip(t, t[1:])}
    assert gaps == {out["interval"]}                        # still evenly spaced
    assert out["interval"] > samples.INTERVAL_STEPS
    assert t[-1] > last - out["interval"]                   # covers the whole run


def test_no_samples_section_decodes_to_none():
    with km.boot(total="16M", nr_cpus=1) as node:
        assert samples.decode(node, 1) is None
