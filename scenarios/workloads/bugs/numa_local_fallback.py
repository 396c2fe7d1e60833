"""Node-locality bug: each CPU keeps blocks it asked for on its own node, with no
__GFP_THISNODE, so once the small node 1 is at its watermarks its CPU silently
gets node 0's memory (the numa lint reports numa-remote-alloc)."""

from kernel_model.gfp import GFP_KERNEL

ORDER = 4
held = []


def process(k):
    page = k.alloc_pages_node(k.numa_node_id(), GFP_KERNEL, ORDER)
    if page is not None:
        held.append(page)


def teardown(k):
    while held:
        k.__free_pages(held.pop(), ORDER)
