"""Hypothesis stateful test: the buddy + pcp allocator against a reference.

The reference is a dict {pfn: (order, gfp)} of what the test holds.  After
every step the whole-model invariants hold (kernel_model.invariants) and
every allocation respects its zone limit.
"""

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kernel_model as km
from kernel_model import gfp as g
from kernel_model import context, invariants, page_alloc, pcp
from kernel_model.zone import WMARK_LOW
from kernel_model.layout import MiB

GFPS = [g.GFP_KERNEL, g.GFP_ATOMIC, g.GFP_NOWAIT, g.GFP_DMA | g.GFP_KERNEL,
        g.GFP_DMA32 | g.GFP_KERNEL, g.GFP_HIGHUSER, g.GFP_HIGHUSER_MOVABLE,
        g.GFP_ATOMIC | g.__GFP_NOMEMALLOC, g.GFP_KERNEL | g.__GFP_NORETRY | g.__GFP_NOWARN]
# Module-level names: inside a class body Python would mangle ``__alloc_pages``.
ALLOC_PAGES = page_alloc.__alloc_pages
FREE_PAGES = page_alloc.__free_pages
NOWARN, DMA, THISNODE = g.__GFP_NOWARN, g.__GFP_DMA, g.__GFP_THISNODE
LAYOUTS = [km.MemoryLayout("x86_64", total="24M"),
           km.MemoryLayout("x86_32", total="20M", movable="2M"),
           km.MemoryLayout("x86_64", total="24M", page_size=8192, movable="4M")]


class BuddyMachine(RuleBasedStateMachine):
    @initialize(layout=st.sampled_from(LAYOUTS), nodes=st.sampled_from([1, 2]))
    def boot(self, layout, nodes):
        self.node = km.boot(layout, max_locks=32, nr_cpus=nodes, nodes=nodes)
        self.held = {}

    def teardown(self):
        if hasattr(self, "node"):
            self.node.close()

    @rule(order=st.integers(0, 10), gfp=st.sampled_from(GFPS))
    def alloc(self, order, gfp):
        pfn = ALLOC_PAGES(self.node, gfp | NOWARN, order)
        if pfn is None:
            return
        lay = self.node.layout
        limit = g.gfp_zone(gfp, lay.has_highmem, lay.has_dma32)
        zone = self.node.page_zone(pfn).idx
        assert zone <= limit, f"{g.format_gfp(gfp)} got a page of zone {zone} above {limit}"
        assert pfn not in self.held
        assert pfn % (1 << order) == 0
        if gfp & DMA:
            assert (pfn << lay.page_shift) + (lay.page_size << order) <= 16 * MiB
        if zone == g.ZONE_HIGHMEM:
            assert self.node.pfn_to_virt(pfn) is None
        else:
            assert self.node.pfn_to_virt(pfn) is not None
        self.held[pfn] = order

    @rule(order=st.integers(0, 10), gfp=st.sampled_from(GFPS), nid=st.integers(0, 1),
          thisnode=st.booleans(), cpu=st.integers(0, 1))
    def alloc_node(self, order, gfp, nid, thisnode, cpu):
        """Two nodes (CPU n on node n): a __GFP_THISNODE block is of that node; a
        local one is of the local node while that node has a zone the mask allows
        above its low watermark (the fast path's)."""
        node = self.node
        nid, cpu = min(nid, node.nr_nodes - 1), min(cpu, node.nr_cpus - 1)
        context.set_this_cpu(context.CPU(cpu))
        lay = node.layout
        limit = g.gfp_zone(gfp, lay.has_highmem, lay.has_dma32)
        local_ok = any(page_alloc.zone_watermark_ok(z, order, z.m[WMARK_LOW], limit, 0)
                       for z in node.node_data[nid].node_zonelists[1][limit])
        pfn = ALLOC_PAGES(node, gfp | NOWARN | (THISNODE if thisnode else 0), order, nid)
        context.set_this_cpu(context.CPU(0))
        if pfn is None:
            assert thisnode or not local_ok
            return
        assert pfn not in self.held
        if thisnode or local_ok:
            assert node.page_to_nid(pfn) == nid
        self.held[pfn] = order

    @precondition(lambda self: getattr(self, "held", None))
    @rule(data=st.data())
    def free(self, data):
        pfn = data.draw(st.sampled_from(sorted(self.held)))
        FREE_PAGES(self.node, pfn, self.held.pop(pfn))

    @rule()
    def drain(self):
        pcp.drain_all_pages(self.node)

    @invariant()
    def consistent(self):
        if hasattr(self, "node"):
            assert invariants.check_page_allocator(self.node, self.held) == []


BuddyMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None)
TestBuddy = BuddyMachine.TestCase


def test_everything_freed_merges_back():
    with km.boot(total="24M", max_locks=16) as node:
        free0 = node.total_free_pages()
        held = [(page_alloc.__alloc_pages(node, g.GFP_KERNEL, o), o) for o in (0, 3, 1, 5, 0, 2) * 5]
        for pfn, order in reversed(held):
            page_alloc.__free_pages(node, pfn, order)
        pcp.drain_all_pages(node)
        assert node.total_free_pages() == free0
        assert invariants.check_page_allocator(node, {}) == []
        # Back to maximal blocks: the buddyinfo of a fresh boot.
        with km.boot(total="24M", max_locks=16) as fresh:
            assert km.procfs.buddyinfo(node) == km.procfs.buddyinfo(fresh)


def test_a_pcp_list_that_never_empties_ends_the_drain_instead_of_hanging(monkeypatch):
    """A race on a pcp list (bugs/zone_lock_missing) can leave it circular: taking its
    tail never empties it.  Draining stops after as many blocks as the node has pages
    (the invariants then report the damage) instead of looping for ever."""
    import signal

    from kernel_model import list as klist

    def hung(*_):
        raise TimeoutError("drain_all_pages did not end on a list that never empties")

    with km.boot(total="24M", max_locks=16) as node:
        a = page_alloc.__alloc_pages(node, g.GFP_KERNEL, 0)
        page_alloc.__free_pages(node, a, 0)              # on this CPU's order-0 list
        pset = node.pcp.psets[context.this_cpu.id]
        lists = [p for p in pset if p.lock is not None and p.head[0] == a]
        assert lists
        mm = node.mem_map
        back = []

        def circular(zone, mm_, pfn, order):            # the tail comes back at the head
            back.append(pfn)
            klist.list_add(mm.next, mm.prev, lists[0].head, lists[0].tail, order, pfn)

        monkeypatch.setattr(pcp.buddy, "__free_one_page", circular)
        old = signal.signal(signal.SIGALRM, hung)
        signal.alarm(30)
        try:
            pcp.drain_all_pages(node)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        assert len(back) == node.nr_pages + 1
