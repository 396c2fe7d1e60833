"""kernel_model/extfrag.py: mm/vmstat.c's fragmentation index, numbers worked by hand."""

import kernel_model as km
from kernel_model import extfrag
from kernel_model.zone import NR_PAGE_ORDERS


def orders(**blocks):
    """nr_free per order from o0=.., o3=.."""
    return [blocks.get(f"o{o}", 0) for o in range(NR_PAGE_ORDERS)]


def test_a_block_big_enough_means_the_allocation_would_succeed():
    nr_free = orders(o0=7, o5=1)
    assert [extfrag.fragmentation_index(nr_free, o) for o in (0, 1, 5)] == [-1000, -1000, -1000]


def test_only_small_blocks_is_fragmentation_as_the_kernel_computes_it():
    # 100 free single pages: order 1 wants 2 pages; 1000 - (1000 + 100*1000/2) / 100 = 490
    nr_free = orders(o0=100)
    assert extfrag.fragmentation_index(nr_free, 1) == 490
    # order 3: 1000 - (1000 + 100*1000/8) / 100 = 1000 - 135 = 865: more fragmented for larger orders
    assert extfrag.fragmentation_index(nr_free, 3) == 865


def test_little_memory_in_few_blocks_is_lack_of_memory_not_fragmentation():
    # one order-2 block, order 6 wanted: 1000 - (1000 + 4*1000/64) / 1 = 1000 - 1062 < 0
    assert extfrag.fragmentation_index(orders(o2=1), 6) == -62
    assert extfrag.fill_contig_page_info(orders(o2=1), 6) == (4, 1, 0)


def test_no_free_blocks_is_zero():
    assert extfrag.fragmentation_index(orders(), 3) == 0


def test_extfrag_index_prints_the_kernels_format():
    with km.boot(total="16M") as node:
        text = extfrag.extfrag_index(node)
        populated = [z for z in node.zones if z.populated()]
    lines = text.splitlines()
    assert len(lines) == len(populated)
    cells = lines[0].split()[4:]
    assert len(cells) == NR_PAGE_ORDERS
    assert cells[0] == "-1.000"          # a fresh zone has every order free
    assert lines[0].startswith("Node 0, zone ")
