"""The page API of the source notes (include/linux/gfp.h, mm/page_alloc.c).

    alloc_pages(gfp, order) -> struct page * or None
    alloc_page(gfp)
    alloc_pages_node(nid, gfp, order)   node nid first (NUMA_NO_NODE: this CPU's)
    numa_node_id(), page_to_nid(page)
    __get_free_pages(gfp, order) -> kernel address or None
    __get_free_page(gfp), get_zeroed_page(gfp)
    page_address(page) -> address, None for HighMem
    virt_to_page(addr)
    __free_pages(page, order), __free_page(page)
    free_pages(addr, order), free_page(addr)

They act on this process's booted node (pgdat.current()), as kernel code acts
on the one running kernel.  Failure returns None (NULL), never raises, except
for masks the kernel refuses at compile or boot time (GfpError).
"""

from . import debug, page_alloc, pgdat as pgdat_mod
from .gfp import __GFP_HIGHMEM, __GFP_ZERO, format_gfp
from .page import Page


def _node():
    node = pgdat_mod.current()
    if node is None:
        raise RuntimeError("no model booted in this process: call kernel_model.boot() first")
    return node


def alloc_pages(gfp, order=0):
    node = _node()
    pfn = page_alloc.__alloc_pages(node, gfp, order)
    return None if pfn is None else Page(node, pfn)


def alloc_page(gfp):
    return alloc_pages(gfp, 0)


def alloc_pages_node(nid, gfp, order=0):
    """alloc_pages_node: NUMA_NO_NODE (-1) means numa_node_id(); a node that
    does not exist is the caller's bug (the kernel's VM_BUG_ON in
    __alloc_pages_node), a ValueError here."""
    node = _node()
    if isinstance(nid, bool) or not isinstance(nid, int) or not -1 <= nid < node.nr_nodes:
        raise ValueError(f"alloc_pages_node: node {nid!r} is not online "
                         f"(nodes 0..{node.nr_nodes - 1}, or NUMA_NO_NODE -1)")
    pfn = page_alloc.__alloc_pages(node, gfp, order, nid)
    if pfn is None:
        return None
    if nid >= 0:
        debug.hooks.node_alloc("alloc_pages_node", nid, node.page_to_nid(pfn), pfn)
    return Page(node, pfn)


def numa_node_id():
    """The node of the CPU this code runs on."""
    return _node().numa_node_id()


def page_to_nid(page):
    return page._pgdat.page_to_nid(page.pfn)


def page_address(page):
    if page is None:
        return None
    return page._pgdat.pfn_to_virt(page.pfn)


def virt_to_page(addr):
    node = _node()
    pfn = node.virt_to_pfn(addr)
    return None if pfn is None else Page(node, pfn)


def __get_free_pages(gfp, order=0):
    """Like alloc_pages but returns the address; HighMem is not allowed here."""
    if gfp & __GFP_HIGHMEM:
        debug.hooks.report("gfp-highmem", "WARNING: __get_free_pages with __GFP_HIGHMEM "
                           f"({format_gfp(gfp)}): the page may have no address; flag dropped")
        gfp &= ~__GFP_HIGHMEM
    node = _node()
    pfn = page_alloc.__alloc_pages(node, gfp, order)
    return None if pfn is None else node.pfn_to_virt(pfn)


def __get_free_page(gfp):
    return __get_free_pages(gfp, 0)


def get_zeroed_page(gfp):
    return __get_free_pages(gfp | __GFP_ZERO, 0)


def __free_pages(page, order=0):
    if page is None:
        return
    page_alloc.__free_pages(page._pgdat, page.pfn, order)


def __free_page(page):
    __free_pages(page, 0)


def free_pages(addr, order=0):
    if not addr:
        return
    node = _node()
    pfn = node.virt_to_pfn(addr)
    if pfn is None or addr & (node.page_size - 1):
        debug.hooks.bad_page(pfn if pfn is not None else -1,
                             f"free_pages of {addr:#x}: not a page-aligned kernel address")
        return
    page_alloc.__free_pages(node, pfn, order)


def free_page(addr):
    free_pages(addr, 0)
