"""Hypothesis stateful test of vmalloc's lazy purge and the per-CPU TLBs it flushes.

Two CPUs' TLBs (small ones, so eviction happens) translate kmalloc and vmalloc
addresses while vmalloc/vfree/purge run.  After every step:

- vmalloc space: the slots in use are exactly the live areas (guard pages
  included) plus the ranges on the purge list, which never overlap;
  vmap_lazy_nr is the sum of the purge list; a freed range is not handed out
  again before a purge (checked at each vmalloc);
- TLBs: never more entries than configured; every translation adds one hit or
  miss per page it spans; a page translated twice in a row hits the second
  time; after flush_tlb_all (published by another CPU's purge or here) the
  next translation on that CPU misses.
"""

import importlib

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kernel_model as km
from kernel_model import context, tlb

vm_mod = importlib.import_module("kernel_model.vmalloc")      # km.vmalloc is the function
PAGE = 4096


class TlbMachine(RuleBasedStateMachine):
    @initialize()
    def boot(self):
        self.node = km.boot(total="32M", nr_cpus=2, page_data=True, slab="slub",
                            slub_debug=False, tlb=True)
        cfg = tlb.TlbConfig(entries=8, large_entries=2, large_page=2 << 20)
        self.cfg = cfg
        self.tlbs = [tlb.TLB(self.node, c, cfg) for c in (0, 1)]
        self.live = {}                     # addr -> pages
        self.lazy_addrs = set()            # vfree'd, not yet purged
        self.kbuf = km.kmalloc(64 << 10, km.GFP_KERNEL)

    def teardown(self):
        if hasattr(self, "node"):
            context.set_this_cpu(context.CPU(0))
            self.node.close()

    def _stats(self, cpu):
        return tlb.snapshot(self.node)["by_cpu"][cpu]

    @rule(pages=st.integers(1, 40), cpu=st.integers(0, 1))
    def vmalloc(self, pages, cpu):
        context.set_this_cpu(context.CPU(cpu))
        purges = self.node.vmalloc.lazy[vm_mod.LAZY_PURGES]
        a = km.vmalloc(pages * PAGE)
        if self.node.vmalloc.lazy[vm_mod.LAZY_PURGES] != purges:
            self.lazy_addrs.clear()        # the allocation had to purge first
        assert a is not None
        assert a not in self.lazy_addrs, "a lazily freed range handed out before its purge"
        self.live[a] = pages

    @precondition(lambda self: getattr(self, "live", None))
    @rule(data=st.data(), cpu=st.integers(0, 1))
    def vfree(self, data, cpu):
        context.set_this_cpu(context.CPU(cpu))
        a = data.draw(st.sampled_from(sorted(self.live)))
        del self.live[a]
        purges = self.node.vmalloc.lazy[vm_mod.LAZY_PURGES]
        km.vfree(a)
        if self.node.vmalloc.lazy[vm_mod.LAZY_PURGES] != purges:
            self.lazy_addrs.clear()        # this vfree purged (``a`` may be gone too)
        else:
            self.lazy_addrs.add(a)

    @rule()
    def purge(self):
        vm_mod.purge_vmap_area_lazy()
        self.lazy_addrs.clear()

    @precondition(lambda self: hasattr(self, "tlbs"))
    @rule(data=st.data(), cpu=st.integers(0, 1), n=st.integers(1, 2 * PAGE))
    def translate(self, data, cpu, n):
        targets = sorted(self.live) + [self.kbuf]
        base = data.draw(st.sampled_from(targets))
        size = self.live.get(base, 16) * PAGE
        off = data.draw(st.integers(0, max(size - n, 0)))
        addr = base + off
        shift = 12 if base in self.live else 21
        pages = ((addr + n - 1) >> shift) - (addr >> shift) + 1
        t = self.tlbs[cpu]
        before = self._stats(cpu)
        t.translate(addr, n)
        mid = self._stats(cpu)
        assert (mid["hits"] + mid["misses"]) - (before["hits"] + before["misses"]) == pages
        t.translate(addr, n)                    # at once again: every page cached
        after = self._stats(cpu)
        if pages <= (self.cfg.entries if shift == 12 else self.cfg.large_entries):
            assert after["misses"] == mid["misses"] and after["hits"] == mid["hits"] + pages

    @precondition(lambda self: hasattr(self, "tlbs"))
    @rule(cpu=st.integers(0, 1))
    def flush_tlb_all_empties_it(self, cpu):
        t = self.tlbs[cpu]
        t.translate(self.kbuf, 8)
        tlb.flush_tlb_all(self.node)
        misses = self._stats(cpu)["misses"]
        t.translate(self.kbuf, 8)
        assert self._stats(cpu)["misses"] == misses + 1

    @invariant()
    def vmalloc_space_is_accounted(self):
        if not hasattr(self, "node"):
            return
        vm = self.node.vmalloc
        used = bytearray(vm.slots)
        for a, pages in self.live.items():
            pos = (a - vm.start) // PAGE
            for s in range(pos, pos + pages + 1):
                assert not used[s], "two areas share a slot"
                used[s] = 1
        lazy_pages = 0
        for i in range(vm.lazy[vm_mod.LAZY_ENTRIES]):
            pos, k = vm.purge[2 * i] - 1, vm.purge[2 * i + 1]
            for s in range(pos, pos + k):
                assert not used[s], "a lazy range overlaps a live area or another range"
                used[s] = 1
            lazy_pages += k
        assert bytes(used) == bytes(vm.used)
        assert vm.lazy[vm_mod.LAZY_NR] == lazy_pages

    @invariant()
    def tlbs_within_capacity(self):
        for t in getattr(self, "tlbs", ()):
            assert len(t.small) <= self.cfg.entries and len(t.large) <= self.cfg.large_entries


TlbMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
TestTlb = TlbMachine.TestCase
