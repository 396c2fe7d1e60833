"""Correct twin of numa_local_fallback: the local allocation says __GFP_THISNODE
and, when the node is full, gives back its oldest blocks instead of taking
another node's memory."""

from kernel_model.gfp import __GFP_NORETRY, __GFP_NOWARN, __GFP_THISNODE, GFP_KERNEL

ORDER = 4
LOCAL = GFP_KERNEL | __GFP_THISNODE | __GFP_NORETRY | __GFP_NOWARN
held = []


def process(k):
    page = k.alloc_pages_node(k.numa_node_id(), LOCAL, ORDER)
    if page is None:                      # the node is full: make room on it
        for _ in range(min(8, len(held))):
            k.__free_pages(held.pop(0), ORDER)
        return
    held.append(page)


def teardown(k):
    while held:
        k.__free_pages(held.pop(), ORDER)
