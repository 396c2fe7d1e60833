"""The external fragmentation index of mm/vmstat.c (debugfs ``extfrag/extfrag_index``).

    fill_contig_page_info(nr_free, order)  -> (free_pages, free_blocks_total,
                                               free_blocks_suitable)
    __fragmentation_index(order, info)     -> thousandths, as the kernel keeps it
    extfrag_index(pgdat)                   the debugfs file's text

The index says why an allocation of ``order`` would fail: -1000 it would not
fail (a free block of that order or larger exists); towards 0 the failure
is for lack of memory; towards 1000 it is for fragmentation (enough free
pages, in blocks that are too small).  The kernel prints it as
``index / 1000`` with three decimals (``extfrag_show_print``).

The functions take the per-order free block counts (``zone->free_area[o].nr_free``)
as a sequence, so the harness can compute the index from counts it
sampled earlier, not only from the live zone.
"""

from .zone import NR_PAGE_ORDERS


def fill_contig_page_info(nr_free, suitable_order):
    """mm/vmstat.c fill_contig_page_info(): totals over the orders of one zone."""
    free_pages = blocks_total = blocks_suitable = 0
    for order in range(min(len(nr_free), NR_PAGE_ORDERS)):
        blocks = int(nr_free[order])
        blocks_total += blocks
        free_pages += blocks << order
        if order >= suitable_order:
            blocks_suitable += blocks << (order - suitable_order)
    return free_pages, blocks_total, blocks_suitable


def __fragmentation_index(order, info):
    """mm/vmstat.c __fragmentation_index(): -1000..1000 (thousandths); 0 with no free blocks."""
    free_pages, blocks_total, blocks_suitable = info
    requested = 1 << order
    if not blocks_total:
        return 0
    if blocks_suitable:
        return -1000
    return 1000 - (1000 + free_pages * 1000 // requested) // blocks_total


def fragmentation_index(nr_free, order):
    """The index of a zone whose free block counts by order are ``nr_free``."""
    return __fragmentation_index(order, fill_contig_page_info(nr_free, order))


def extfrag_index(pgdat):
    """/sys/kernel/debug/extfrag/extfrag_index: one line per populated zone,
    the index of every order as ``%2d.%03d`` of (index / 1000, index % 1000)."""
    lines = []
    for zone in pgdat.zones:
        if not zone.populated():
            continue
        cells = []
        for order in range(NR_PAGE_ORDERS):
            index = fragmentation_index(zone.fa_nr, order)
            quot = int(index / 1000)                 # C division truncates toward zero
            cells.append(f"{quot:2d}.{index - quot * 1000:03d} ")
        lines.append(f"Node {zone.nid}, zone {zone.name:>8s} " + "".join(cells))
    return "\n".join(lines) + "\n"
