"""SLUB: sizes as the kernel computes them, the lock-free fast path on two CPU
processes, cross-CPU frees, an interrupt inside the tid transaction, destroy."""

import os
import signal

import kernel_model as km
from kernel_model import context, debug, slab_common as sc, slub
from kernel_model.slabinfo import slabinfo

from slab_helpers import RecordingHooks, run_cpus


def test_calculate_sizes_match_the_kernel():
    # kmalloc-64, no debug: 64-byte objects, free pointer in the middle, order 0.
    assert slub.calculate_sizes(64, 64, sc.SLAB_KMALLOC, False, 12, 2)[:6] == (64, 32, 64, 0, 0, 64)
    # slub_debug=PZU kmalloc-64 (align 64): redzone word, pointer after the object,
    # two tracks, orig_size, left pad of one alignment unit.
    size, offset, inuse, rlp, order, objects, _ = slub.calculate_sizes(
        64, 64, sc.SLAB_KMALLOC | sc.SLAB_MODEL_DEBUG, False, 12, 2)
    assert (offset, inuse, rlp) == (72, 72, 64) and size % 64 == 0 and objects == 4096 // size
    # min_objects = 4 * (fls(nr_cpus) + 1) pushes 700-byte objects to order 2 on 2 CPUs.
    assert slub.calculate_order(700, 12, 2) == 2
    assert slub.calculate_order(8, 12, 2) == 0


def test_fast_path_takes_no_spinlock_on_two_cpus():
    with km.boot(total="32M", nr_cpus=2, page_data=True, slab="slub", slub_debug=False) as node:
        cache = km.kmem_cache_create("local", 96)

        def work(cpu):
            hooks = RecordingHooks()
            debug.install(hooks)
            for _ in range(300):
                objs = [km.kmem_cache_alloc(cache, km.GFP_KERNEL) for _ in range(8)]
                assert len(set(objs)) == 8 and None not in objs
                for o in objs:
                    km.kmem_cache_free(cache, o)
            return {"locks_in_fastpath": hooks.locks_in_fastpath, "locks": hooks.locks}

        res = run_cpus(node, work)
        stats = sc.slab_stats(cache)
        assert all(r["locks_in_fastpath"] == 0 for r in res)
        assert stats["alloc_fastpath"] > 0.9 * 2 * 300 * 8
        assert stats["free_fastpath"] > 0.9 * 2 * 300 * 8
        assert stats["alloc_fastpath"] + stats["alloc_slowpath"] == 2 * 300 * 8


def test_cross_cpu_frees_use_slab_free_and_the_node_partial_list():
    with km.boot(total="32M", nr_cpus=2, page_data=True, slab="slub") as node:
        cache = km.kmem_cache_create("xcpu", 200)
        r, w = os.pipe()

        def work(cpu):
            if cpu == 0:                       # producer: allocate, hand to CPU 1
                os.close(r)
                for _ in range(40):
                    objs = [km.kmem_cache_alloc(cache, km.GFP_KERNEL) for _ in range(50)]
                    os.write(w, b"".join(o.to_bytes(8, "little") for o in objs))
                os.close(w)
                return {}
            os.close(w)
            buf = b""
            n = 0
            while True:
                chunk = os.read(r, 4096)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 8:
                    km.kmem_cache_free(cache, int.from_bytes(buf[:8], "little"))
                    buf = buf[8:]
                    n += 1
            return {"freed": n}

        res = run_cpus(node, work, parent_close=(r, w))
        assert res[1]["freed"] == 2000
        st = sc.slab_stats(cache)
        assert st["free_slowpath"] >= 1500          # remote frees go through __slab_free
        assert st["cpu_partial_free"] > 0           # full slabs onto CPU 1's partial list
        assert st["free_add_partial"] + st["cpu_partial_drain"] > 0   # ... and on to the node
        assert sc.check_slabs(node) == []
        slub.flush_all(cache)
        assert sc.check_slabs(node) == []
        active = slub.slabinfo_counts(cache)[0]
        assert active == 0
        assert km.kmem_cache_destroy(cache)


class _IrqInWindow(RecordingHooks):
    """Fires SIGUSR1 (a hardirq) once, between the tid read and the swap."""

    def __init__(self, what):
        super().__init__()
        self.what = what
        self.armed = False

    def slab_tid_window(self, what, cpu):
        if self.armed and what == self.what:
            self.armed = False
            os.kill(os.getpid(), signal.SIGUSR1)


def _interrupt_test(booted, what):
    hooks = _IrqInWindow(what)
    node = booted(hooks, total="32M", page_data=True, slab="slub")
    cache = km.kmem_cache_create("irq", 64)
    got = []

    def hardirq(signum, frame):
        context.this_cpu.preempt_count += context.HARDIRQ_OFFSET
        try:
            got.append(km.kmem_cache_alloc(cache, km.GFP_ATOMIC))
        finally:
            context.this_cpu.preempt_count -= context.HARDIRQ_OFFSET

    prev = signal.signal(signal.SIGUSR1, hardirq)
    try:
        warm = [km.kmem_cache_alloc(cache, km.GFP_KERNEL) for _ in range(4)]
        if what == "do_slab_free":
            victim = warm.pop()
            hooks.armed = True
            km.kmem_cache_free(cache, victim)
            mine = None
        else:
            hooks.armed = True
            mine = km.kmem_cache_alloc(cache, km.GFP_KERNEL)
    finally:
        signal.signal(signal.SIGUSR1, prev)
    stats = sc.slab_stats(cache)
    assert len(got) == 1, "the interrupt did not run"
    assert stats["cmpxchg_double_cpu_fail"] == 1, "the interrupted swap did not retry"
    held = warm + got + ([mine] if mine else [])
    assert len(set(held)) == len(held), "an object was handed out twice"
    assert sc.check_slabs(node, held) == []
    info = km.object_info(got[0])
    assert info["state"] == "allocated" and info["alloc"]["context"] == "hardirq"


def test_interrupt_between_tid_read_and_swap_makes_alloc_retry(booted):
    _interrupt_test(booted, "slab_alloc_node")


def test_interrupt_between_tid_read_and_swap_makes_free_retry(booted):
    _interrupt_test(booted, "do_slab_free")


def test_destroy_with_live_objects_is_reported_and_refused(booted):
    hooks = RecordingHooks()
    booted(hooks, total="32M", page_data=True, slab="slub")
    cache = km.kmem_cache_create("leaky", 128)
    objs = [km.kmem_cache_alloc(cache, km.GFP_KERNEL) for _ in range(10)]
    assert not km.kmem_cache_destroy(cache)
    assert any("Objects remaining in leaky on __kmem_cache_shutdown()" in t
               for _, t in hooks.reports)
    for o in objs:
        km.kmem_cache_free(cache, o)
    assert km.kmem_cache_destroy(cache)
    assert sc.find_cache("leaky") is None


def test_consistency_checks_cache_takes_the_locked_route():
    with km.boot(total="32M", page_data=True, slab="slub", slub_debug=False) as node:
        cache = km.kmem_cache_create("locked", 64, flags=km.SLAB_CONSISTENCY_CHECKS)
        objs = [km.kmem_cache_alloc(cache, km.GFP_KERNEL) for _ in range(200)]
        assert len(set(objs)) == 200
        assert sc.check_slabs(node, objs) == []
        for o in objs:
            km.kmem_cache_free(cache, o)
        st = sc.slab_stats(cache)
        assert st["alloc_locked"] == 200 and st["alloc_fastpath"] == 0
        assert sc.check_slabs(node) == []


def test_slabinfo_format():
    with km.boot(total="32M", page_data=True, slab="slub", slub_debug=False):
        objs = [km.kmalloc(100, km.GFP_KERNEL) for _ in range(5)]
        text = slabinfo()
        lines = text.splitlines()
        assert lines[0] == "slabinfo - version: 2.1"
        assert lines[1].startswith("# name            <active_objs> <num_objs> <objsize>")
        row = next(l for l in lines if l.startswith("kmalloc-128 "))
        f = row.split()
        assert f[3] == "128" and f[4] == "32" and f[5] == "1"
        assert int(f[2]) >= 32 and f[6:8] == [":", "tunables"] and f[11:13] == [":", "slabdata"]
        for o in objs:
            km.kfree(o)


def test_fast_path_unmask_replays_a_pending_interrupt_once(booted):
    """The emulated cmpxchg's inlined local_irq_restore: an interrupt noted while
    masked (cpu.irq_happened) is taken at the unmask, by the chip, once; with
    interrupts already off at entry (nested) it waits for the outer restore."""
    replays = []

    class Chip(context.IrqChip):
        def enable(self):
            replays.append(context.this_cpu.irqs_off)
            context.this_cpu.irq_happened = False

    booted(total="32M", page_data=True, slab="slub", slub_debug=False)
    cpu = context.set_this_cpu(context.CPU(0, chip=Chip()))
    km.kfree(km.kmalloc(64, km.GFP_KERNEL))           # the CPU slab is there: fast paths only
    cpu.irq_happened = True
    a = km.kmalloc(64, km.GFP_KERNEL)
    assert replays == [False] and not cpu.irq_happened and not cpu.irqs_off
    flags = context.local_irq_save()
    cpu.irq_happened = True
    km.kfree(a)
    assert replays == [False] and cpu.irq_happened     # nested: not at the inner unmask
    context.local_irq_restore(flags)
    assert replays == [False, False] and not cpu.irq_happened
