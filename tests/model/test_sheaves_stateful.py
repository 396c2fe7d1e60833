"""Hypothesis stateful test of the sheaves allocator against a reference.

The machine of test_slab_stateful (kmalloc, kmem_cache_alloc, free, shrink on
two CPUs simulated in one process, checked after every step against the
reference {address: (cache or None, size)}) booted with slab="sheaves", plus
what only sheaves have: caller-held prefilled sheaves (prefill, allocate
from one, refill, return), flush_all, and a cache whose small
sheaf_capacity makes the barn fill and drain within a few dozen steps.
After every step, on top of check_slabs (which counts objects in sheaves as
free): every sheaf slot of every cache is in exactly one place (a CPU's
main or spare, a barn list, the free slots, a handle the test holds), the
barn counts match its lists and stay within MAX_FULL_SHEAVES, and no object
the reference holds sits in a sheaf.  With two nodes each CPU trades with its
own node's barn, and every node's lists hold only that node's slabs (the
inherited node_lists invariant, and check_cache's partial-list walk).
"""

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import initialize, invariant, precondition, rule

import kernel_model as km
from kernel_model import context, slab_common as sc, sheaf_prefill as sp, sheaves as sv

from test_slab_stateful import SlabMachine


class SheavesMachine(SlabMachine):
    @initialize(debug_on=st.booleans(), capacity=st.sampled_from([0, 2, 5]),
                nodes=st.sampled_from([1, 2]))
    def boot(self, debug_on, capacity, nodes):
        self.node = km.boot(total="32M", nr_cpus=2, page_data=True, slab="sheaves",
                            slub_debug=debug_on, nodes=nodes)
        self.debug_on = debug_on
        self.cache = km.kmem_cache_create("obj", 120, align=16)
        self.rec = km.kmem_cache_create("rec", 100)      # SlabMachine's second cache
        # a small asked-for capacity is raised to the formula's (a maple-tree-like
        # user asks for more); a tiny cache of big objects has 4-object sheaves
        self.small = km.kmem_cache_create("big", 5000, sheaf_capacity=capacity)
        self.held = {}
        self.sheaves = {}                  # handle -> cache (prefilled sheaves we hold)

    @rule(cpu=st.integers(0, 1), gfp=st.sampled_from([km.GFP_KERNEL, km.GFP_ATOMIC]))
    def small_alloc(self, cpu, gfp):
        context.set_this_cpu(context.CPU(cpu))
        a = km.kmem_cache_alloc(self.small, gfp)
        assert a is not None and a not in self.held
        self.held[a] = (self.small, 5000)

    @rule(cpu=st.integers(0, 1), size=st.integers(1, 8), big=st.booleans())
    def prefill(self, cpu, size, big):
        context.set_this_cpu(context.CPU(cpu))
        cache = self.small if big else self.cache
        h = sp.kmem_cache_prefill_sheaf(cache, km.GFP_KERNEL, size)
        if len(self.sheaves) < sv.NR_CALLER_SHEAVES // 2:
            assert h is not None
        if h is not None:
            assert sp.kmem_cache_sheaf_size(cache, h) >= size
            assert h not in self.sheaves
            self.sheaves[h] = cache

    @precondition(lambda self: getattr(self, "sheaves", None))
    @rule(data=st.data(), cpu=st.integers(0, 1), n=st.integers(1, 6))
    def alloc_from_sheaf(self, data, cpu, n):
        context.set_this_cpu(context.CPU(cpu))
        h = data.draw(st.sampled_from(sorted(self.sheaves)))
        cache = self.sheaves[h]
        for _ in range(n):
            had = sp.kmem_cache_sheaf_size(cache, h)
            a = sp.kmem_cache_alloc_from_sheaf(cache, km.GFP_KERNEL, h)
            if not had:
                assert a is None                       # an empty sheaf fails, no fallback
                break
            assert a is not None and a not in self.held
            assert sp.kmem_cache_sheaf_size(cache, h) == had - 1
            self.held[a] = (cache, cache.object_size)

    @precondition(lambda self: getattr(self, "sheaves", None))
    @rule(data=st.data(), cpu=st.integers(0, 1), size=st.integers(1, 70))
    def refill_sheaf(self, data, cpu, size):
        context.set_this_cpu(context.CPU(cpu))
        h = data.draw(st.sampled_from(sorted(self.sheaves)))
        cache = self.sheaves.pop(h)
        err, h2 = sp.kmem_cache_refill_sheaf(cache, km.GFP_KERNEL, h, size)
        if size <= sv.SHEAF_MAX_CAPACITY:
            assert err == 0 and sp.kmem_cache_sheaf_size(cache, h2) >= size
        self.sheaves[h2] = cache

    @precondition(lambda self: getattr(self, "sheaves", None))
    @rule(data=st.data(), cpu=st.integers(0, 1))
    def return_sheaf(self, data, cpu):
        context.set_this_cpu(context.CPU(cpu))
        h = data.draw(st.sampled_from(sorted(self.sheaves)))
        sp.kmem_cache_return_sheaf(self.sheaves.pop(h), km.GFP_KERNEL, h)

    @rule(cpu=st.integers(0, 1), big=st.booleans())
    def flush_all(self, cpu, big):
        context.set_this_cpu(context.CPU(cpu))
        cache = self.small if big else self.cache
        sv.flush_all(cache)
        for c in range(2):
            main, spare = sv.pcs_sheaves(cache, c)
            assert sv.sheaf_size(cache, main) == 0 and spare is None

    @invariant()
    def sheaves_in_place(self):
        if not hasattr(self, "node"):
            return
        handles = {c.name: [h for h, hc in self.sheaves.items() if hc is c]
                   for c in (self.cache, self.small)}
        for s in sc.all_caches(self.node):
            assert sv.check_sheaves(s, handles.get(s.name, ())) == []
            full, _ = sv.barn_counts(s)
            assert full <= sv.MAX_FULL_SHEAVES
            cached, problems = sv.cached_objects(s)
            assert problems == []
            assert not {o for o, _ in cached} & set(self.held), "an allocated object in a sheaf"


SheavesMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=50,
                                            deadline=None)
TestSheaves = SheavesMachine.TestCase
