"""The /proc views read like Linux 6.12's (mm/vmstat.c): field names and order,
the zones each architecture configures, pagesets with high_min/high_max, /proc/vmstat."""

import re

import kernel_model as km

MiB = 1 << 20


def _zones(text):
    return re.findall(r"^Node 0, zone\s+(\S+)$", text, re.M)


def test_x86_64_zoneinfo_has_dma32_and_no_highmem():
    with km.boot(total="64M") as node:
        zi = km.procfs.zoneinfo(node)
    assert _zones(zi) == ["DMA", "DMA32", "Normal", "Movable"]
    assert all(line.count(",") == 3 for line in zi.splitlines() if "protection:" in line)


def test_x86_32_zoneinfo_has_highmem_and_no_dma32():
    with km.boot(km.MemoryLayout(arch="x86_32", total=1024 * MiB)) as node:
        zi = km.procfs.zoneinfo(node)
        bi = km.procfs.buddyinfo(node)
    assert _zones(zi) == ["DMA", "Normal", "HighMem", "Movable"]
    assert "DMA32" not in zi and "DMA32" not in bi


def test_zoneinfo_fields_in_the_kernels_order():
    with km.boot(total="64M", nr_cpus=2) as node:
        zi = km.procfs.zoneinfo(node)
    dma = zi.split("Node 0, zone    DMA32")[0]
    keys = [line.split()[0].rstrip(":") for line in dma.splitlines()[1:] if line.strip()]
    assert keys[:11] == ["pages", "boost", "min", "low", "high", "promo", "spanned", "present",
                         "managed", "cma", "protection"]
    assert "nr_free_pages" in keys and "pgalloc" not in dma and "allocfail" not in dma
    cpu1 = dma.split("cpu: 1")[1]
    names = re.findall(r"^\s+([a-z_ ]+):", cpu1, re.M)
    assert names[:6] == ["count", "high", "batch", "high_min", "high_max", "vm stats threshold"]
    assert dma.rstrip().splitlines()[-2:] == ["  node_unreclaimable:  0", "  start_pfn:           0"]


def test_high_max_is_at_least_high_min():
    with km.boot(total="256M", nr_cpus=2) as node:
        zi = km.procfs.zoneinfo(node)
    lows = [int(x) for x in re.findall(r"high_min: (\d+)", zi)]
    highs = [int(x) for x in re.findall(r"high_max: (\d+)", zi)]
    assert lows and all(h >= lo for lo, h in zip(lows, highs))


def test_vmstat_counts_allocations_and_slab_pages():
    with km.boot(total="64M", page_data=True, slab="slub") as node:
        before = dict(line.split() for line in km.procfs.vmstat(node).splitlines())
        objs = [km.kmalloc(512, km.GFP_KERNEL) for _ in range(64)]
        page = km.alloc_pages(km.GFP_KERNEL, 0)
        after = dict(line.split() for line in km.procfs.vmstat(node).splitlines())
        km.__free_pages(page, 0)
        for o in objs:
            km.kfree(o)
    assert int(after["nr_slab_unreclaimable"]) > int(before["nr_slab_unreclaimable"])
    allocs = sum(int(after[k]) - int(before[k]) for k in after if k.startswith("pgalloc_"))
    assert allocs >= 1
    assert "pgalloc_high" not in after and "pgalloc_dma32" in after


def test_vmstat_lines_in_the_kernels_order():
    """vmstat_text: zone items (nr_free_pages), node items (nr_slab_*), then the events
    pgalloc_<zone>, allocstall_<zone>, pgfree -- zones as TEXTS_FOR_ZONES orders them."""
    with km.boot(km.MemoryLayout(arch="x86_32", total=1024 * MiB)) as node:
        names = [line.split()[0] for line in km.procfs.vmstat(node).splitlines()]
    assert names == ["nr_free_pages", "nr_slab_reclaimable", "nr_slab_unreclaimable",
                     "pgalloc_dma", "pgalloc_normal", "pgalloc_high", "pgalloc_movable",
                     "allocstall_dma", "allocstall_normal", "allocstall_high", "allocstall_movable",
                     "pgfree"]


def test_every_gfp_modifier_is_exported():
    assert km.__GFP_NOWARN == 0x2000 and km.__GFP_THISNODE == 0x200000
    assert km.GFP_ATOMIC == km.__GFP_HIGH | km.__GFP_KSWAPD_RECLAIM
    names = [n for n in dir(km.gfp) if n.startswith(("__GFP_", "GFP_"))]
    assert len(names) > 30 and [n for n in names if not hasattr(km, n)] == []
