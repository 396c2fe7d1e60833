"""Direct reclaim: shrinkers, NORETRY, NOFAIL, might_sleep at blocking entry."""

import kernel_model as km
from kernel_model import debug, gfp as g, page_alloc
from kernel_model.zone import RECLAIM

ALLOC = page_alloc.__alloc_pages
FREE = page_alloc.__free_pages


class Recorder(debug.DebugHooks):
    def __init__(self):
        self.sleeps = []
        self.reports = []

    def might_sleep(self, where, gfp=None):
        self.sleeps.append(gfp)

    def report(self, kind, text):
        self.reports.append(kind)


def fill(node, gfp=g.GFP_ATOMIC | g.__GFP_NOWARN):
    held = []
    while (pfn := ALLOC(node, gfp, 0)) is not None:
        held.append(pfn)
    return held


def test_blocking_allocation_reclaims_through_shrinker():
    with km.boot(total="16M", max_locks=16) as node:
        held = fill(node)
        calls = []

        def shrinker(nr):
            calls.append(nr)
            for _ in range(min(nr, len(held))):
                FREE(node, held.pop(), 0)

        km.register_shrinker(node, shrinker)
        assert ALLOC(node, g.GFP_KERNEL, 0) is not None
        assert calls, "GFP_KERNEL below min must call the shrinkers"
        assert node.zones[0].m[RECLAIM] >= 1


def test_atomic_never_reclaims_and_noretry_gives_up():
    with km.boot(total="16M", max_locks=16) as node:
        fill(node)
        calls = []
        km.register_shrinker(node, lambda nr: calls.append(nr))
        assert ALLOC(node, g.GFP_ATOMIC | g.__GFP_NOWARN, 0) is None
        assert calls == []
        assert ALLOC(node, g.GFP_KERNEL | g.__GFP_NORETRY | g.__GFP_NOWARN, 0) is None
        assert len(calls) == 1


def test_nofail_keeps_retrying_until_memory_comes_back():
    with km.boot(total="16M", max_locks=16) as node:
        held = fill(node)
        rounds = []

        def slow_shrinker(nr):
            rounds.append(nr)
            if len(rounds) == 30:              # memory comes back late
                for pfn in held:
                    FREE(node, pfn, 0)
                held.clear()

        km.register_shrinker(node, slow_shrinker)
        assert ALLOC(node, g.GFP_KERNEL | g.__GFP_NOFAIL, 0) is not None
        assert len(rounds) == 30


def test_might_sleep_only_for_blocking_masks(booted):
    rec = Recorder()
    node = booted(rec, total="16M", max_locks=16)
    for gfp in (g.GFP_KERNEL, g.GFP_NOIO, g.GFP_NOFS, g.GFP_USER, g.GFP_ATOMIC, g.GFP_NOWAIT):
        FREE(node, ALLOC(node, gfp, 0), 0)
    assert rec.sleeps == [g.GFP_KERNEL, g.GFP_NOIO, g.GFP_NOFS, g.GFP_USER]


def test_nofail_without_reclaim_is_a_warning(booted, debug_hooks):
    node = booted(total="16M", max_locks=16)
    fill(node)
    rec = debug_hooks(Recorder())
    ALLOC(node, g.GFP_ATOMIC | g.__GFP_NOFAIL | g.__GFP_NOWARN, 0)
    assert "nofail-atomic" in rec.reports
