"""Hypothesis stateful test of SLUB and the classic SLAB against a reference.

The reference is {address: (cache or None for kmalloc, size)}.  After every
step: no object is handed out twice, every held object lies inside a slab of
its cache at an object start and is marked allocated, every slab's free
objects (slab freelist, CPU freelists / array caches) are acyclic, inside the
slab, disjoint from what is held, and with the held ones add up to the
slab's object count.  kmalloc gives at least the size asked (ksize), objects
are aligned, __GFP_ZERO memory is zero, and a freed object is poisoned.
Two CPUs are simulated in one process (set_this_cpu), so frees from the
other CPU take the remote paths.  Under the classic SLAB the machine holds
both kinds of slab management: "obj" (128-byte slots, 32 to a page, no room
left) keeps its freelists off the slab in kmalloc objects (OFF_SLAB), "rec"
(104-byte slots) on the slab; kmalloc-4k and the like are off-slab too
without debugging.  An off-slab slab's freelist must be a live kmalloc
object outside the slab, and check_slabs counts it as held.  With two NUMA
nodes (CPU 0 on node 0, CPU 1 on node 1) each node's lists must hold only
their node's slabs (check_cache: SLUB's partial lists; SLAB's three lists,
each CPU's array cache only objects of its node and each alien cache only
objects of the node it is for), whichever CPU frees, and kmalloc_node with
__GFP_THISNODE gives an object of that node.  The node_lists invariant walks
every node's lists itself, for every allocator (sheaves inherit it).
"""

import hypothesis.strategies as st
import numpy as np
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kernel_model as km
from kernel_model import context, gfp as g, slab_common as sc
from kernel_model.page import NIL, PGTY_slab

ZERO, DMA, THISNODE = g.__GFP_ZERO, g.__GFP_DMA, g.__GFP_THISNODE         # module level: a class body would mangle them
SIZES = st.sampled_from([1, 8, 13, 64, 96, 100, 192, 200, 700, 1500, 4096, 9000])
GFPS = st.sampled_from([km.GFP_KERNEL, km.GFP_ATOMIC, km.GFP_KERNEL | ZERO, km.GFP_KERNEL | DMA])


class SlabMachine(RuleBasedStateMachine):
    @initialize(kind=st.sampled_from(["slub", "slab"]), debug_on=st.booleans(),
                nodes=st.sampled_from([1, 2]))
    def boot(self, kind, debug_on, nodes):
        self.node = km.boot(total="32M", nr_cpus=2, page_data=True, slab=kind,
                            slub_debug=debug_on, nodes=nodes)
        self.debug_on = debug_on
        self.cache = km.kmem_cache_create("obj", 120, align=16)
        self.rec = km.kmem_cache_create("rec", 100)
        self.kind = kind
        if kind == "slab" and not debug_on:
            assert self.cache.off_slab and not self.rec.off_slab
        self.held = {}

    def teardown(self):
        if hasattr(self, "node"):
            context.set_this_cpu(context.CPU(0))
            self.node.close()

    def _data(self, addr, n):
        off = self.node.data_offset(addr)
        return bytes(self.node.data[off:off + n])

    @rule(size=SIZES, gfp=GFPS, cpu=st.integers(0, 1))
    def kmalloc(self, size, gfp, cpu):
        context.set_this_cpu(context.CPU(cpu))
        a = km.kmalloc(size, gfp)
        assert a is not None
        assert a not in self.held, "object handed out twice"
        assert km.ksize(a) >= size
        assert a % 8 == 0
        if gfp & ZERO:
            assert self._data(a, size) == bytes(size)
        off = self.node.data_offset(a)
        self.node.data[off:off + size] = b"\x5c" * size      # the user writes it
        self.held[a] = (None, size)

    @rule(size=st.sampled_from([8, 100, 700, 9000]), cpu=st.integers(0, 1),
          nid=st.integers(-1, 1), thisnode=st.booleans())
    def kmalloc_node(self, size, cpu, nid, thisnode):
        context.set_this_cpu(context.CPU(cpu))
        nid = min(nid, self.node.nr_nodes - 1)
        gfp = km.GFP_KERNEL | (THISNODE if thisnode else 0)
        a = km.kmalloc_node(size, gfp, nid)
        assert a is not None and a not in self.held and km.ksize(a) >= size
        pfn = self.node.virt_to_pfn(a)
        # NUMA_NO_NODE is no preference even with __GFP_THISNODE (node_match: any CPU slab)
        if thisnode and nid >= 0:
            assert self.node.page_to_nid(pfn) == nid
        self.held[a] = (None, size)

    @rule(gfp=GFPS, cpu=st.integers(0, 1), which=st.booleans())
    def cache_alloc(self, gfp, cpu, which):
        context.set_this_cpu(context.CPU(cpu))
        cache, size, align = (self.cache, 120, 16) if which else (self.rec, 100, 8)
        a = km.kmem_cache_alloc(cache, gfp & ~DMA)
        assert a is not None and a not in self.held and a % align == 0
        if gfp & ZERO:
            assert self._data(a, size) == bytes(size)
        self.held[a] = (cache, size)

    @precondition(lambda self: getattr(self, "held", None))
    @rule(data=st.data(), cpu=st.integers(0, 1))
    def free(self, data, cpu):
        context.set_this_cpu(context.CPU(cpu))
        a = data.draw(st.sampled_from(sorted(self.held)))
        cache, size = self.held.pop(a)
        if cache is None:
            km.kfree(a)
        else:
            km.kmem_cache_free(cache, a)
        info = km.object_info(a)
        if info is not None and self.debug_on:
            assert info["state"] == "free"
            n = info["object_size"]
            assert self._data(a, n) == b"\x6b" * (n - 1) + b"\xa5"

    @rule(cpu=st.integers(0, 1))
    def shrink(self, cpu):
        context.set_this_cpu(context.CPU(cpu))
        km.kmem_cache_shrink(self.cache)
        km.kmem_cache_shrink(self.rec)

    @invariant()
    def offslab_freelists(self):
        if getattr(self, "kind", None) != "slab":
            return
        node, mm = self.node, self.node.mem_map
        heads = np.nonzero(np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab)[0]
        for head in heads:
            s = sc.cache_by_id(node.slab, mm.slab_cache[head] - 1)
            fl = int(mm.slab_freelist[head])
            start = node.page_offset + (int(head) << node.page_shift)
            inside = start <= fl < start + s.slab_bytes
            assert inside != bool(s.off_slab), f"{s.name}: freelist {fl:#x}"
            if s.off_slab:
                info = km.object_info(fl)
                assert info is not None and info["cache"].startswith("kmalloc-")
                if self.debug_on:
                    assert info["state"] == "allocated"

    @invariant()
    def node_lists(self):
        """Each node's slab lists (partial, full, free) hold only slabs of that node's
        pages, for every allocator, read here from the arena rather than through
        the allocator's own check_cache."""
        if not hasattr(self, "node"):
            return
        node, st, mm = self.node, self.node.slab, self.node.mem_map
        for s in km.slab_common.all_caches(node):
            for n in s.node:
                for lid in (sc.LIST_PARTIAL, sc.LIST_FULL, sc.LIST_FREE):
                    pfn, seen = st.lhead[n.lbase + lid], 0
                    while pfn != NIL and seen <= node.nr_pages:
                        assert node.page_to_nid(pfn) == n.nid, \
                            f"{s.name}: slab {pfn:#x} of node {node.page_to_nid(pfn)} on node {n.nid}'s list {lid}"
                        pfn, seen = mm.next[pfn], seen + 1

    @invariant()
    def consistent(self):
        if not hasattr(self, "node"):
            return
        assert sc.check_slabs(self.node, self.held) == []
        for s in km.slab_common.all_caches(self.node):
            assert self.node.slab.allocator.check_cache(s) == []
        for a, (cache, size) in self.held.items():
            info = km.object_info(a)
            if info is None:                      # large kmalloc
                assert size > self.node.slab.kmalloc_max_cache
                continue
            assert info["object"] == a
            if cache is not None:
                assert info["cache"] == cache.name
            if self.debug_on:
                assert info["state"] == "allocated"


SlabMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=50, deadline=None)
TestSlab = SlabMachine.TestCase
