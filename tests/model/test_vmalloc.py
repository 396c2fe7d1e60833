"""vmalloc: contiguous virtual, scattered physical, might_sleep, bad vfree reported."""

import kernel_model as km
from kernel_model import context
from kernel_model.vmalloc import vmalloc_areas, vmalloc_data_offset

from slab_helpers import RecordingHooks


class SleepHooks(RecordingHooks):
    def __init__(self):
        super().__init__()
        self.sleeps = []

    def might_sleep(self, where, gfp=None):
        self.sleeps.append((where, context.in_atomic()))


def test_vmalloc_maps_pages_and_vfree_returns_them():
    for arch in ("x86_64", "x86_32"):
        with km.boot(km.MemoryLayout(arch, total="32M"), page_data=True, slab="slub") as node:
            free0 = node.total_free_pages()
            a = km.vzalloc(5 * node.page_size + 1)
            assert km.is_vmalloc_addr(a) and node.virt_to_pfn(a) is None
            pfns = [km.vmalloc_to_pfn(a + i * node.page_size) for i in range(6)]
            assert None not in pfns and len(set(pfns)) == 6
            assert km.vmalloc_to_pfn(a + 6 * node.page_size) is None      # guard page
            off = vmalloc_data_offset(a + node.page_size + 7)
            assert node.data[off] == 0
            b = km.vmalloc(node.page_size)
            assert b >= a + 7 * node.page_size                            # after the guard
            assert len(vmalloc_areas()) == 2
            km.vfree(a)
            km.vfree(b)
            km.vfree(None)
            assert vmalloc_areas() == []
            assert node.total_free_pages() + sum(
                p.count for row in node.pcp.psets for p in row) >= free0


def test_vmalloc_may_sleep_and_bad_vfree_is_reported(booted):
    hooks = SleepHooks()
    node = booted(hooks, total="32M", page_data=True, slab="slub")
    context.preempt_disable()
    a = km.vmalloc(100)
    context.preempt_enable()
    assert hooks.sleeps[0] == ("mm/vmalloc.c:__vmalloc_node_range", True)
    km.vfree(a + 8)
    km.vfree(a + node.page_size * 3)
    texts = [c[2] for c in hooks.calls if c[0] == "vfree_bad"]
    assert texts[0].startswith("Trying to vfree() bad address")
    assert texts[1].startswith("Trying to vfree() nonexistent vm area")
    km.vfree(a)
    km.vfree(a)
    assert sum(c[0] == "vfree_bad" for c in hooks.calls) == 3
