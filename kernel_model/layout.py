"""The physical memory map: which page frames belong to which zone.

This is what the kernel learns from the firmware's e820 map and turns into
zone spans in free_area_init().  One node (pg_data_t), zones at fixed indices
(gfp.ZONE_DMA .. ZONE_MOVABLE); a zone the architecture lacks stays empty.

  x86_64:  DMA [0, 16 MiB)  DMA32 [16 MiB, 4 GiB)  Normal [4 GiB, end)
           PAGE_OFFSET 0xffff888000000000, every page has a kernel address.
  x86_32:  DMA [0, 16 MiB)  Normal [16 MiB, 896 MiB)  HighMem [896 MiB, end)
           PAGE_OFFSET 0xc0000000; HighMem pages have no permanent mapping,
           so page_address() is None (NULL) for them.

``movable`` moves the top of the highest zone into ZONE_MOVABLE, as the
``movablecore=`` boot parameter does.
"""

import re
from dataclasses import dataclass

from .errors import ConfigError
from .gfp import MAX_NR_ZONES, ZONE_DMA, ZONE_DMA32, ZONE_HIGHMEM, ZONE_MOVABLE, ZONE_NORMAL

MiB = 1 << 20
GiB = 1 << 30
ARCHES = {
    # name: (PAGE_OFFSET, zone boundaries in bytes: [(zone, end)], highmem start)
    "x86_64": (0xFFFF888000000000, [(ZONE_DMA, 16 * MiB), (ZONE_DMA32, 4 * GiB),
                                    (ZONE_NORMAL, None)], None),
    "x86_32": (0xC0000000, [(ZONE_DMA, 16 * MiB), (ZONE_NORMAL, 896 * MiB),
                            (ZONE_HIGHMEM, None)], 896 * MiB),
}
PAGE_SIZES = (4096, 8192)
_UNITS = {"": 1, "K": 1 << 10, "M": MiB, "G": GiB, "T": 1 << 40}


def parse_size(value):
    """``"1G"``, ``"512MiB"``, ``"64 M"`` or an int (bytes) -> bytes."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", str(value), re.IGNORECASE)
    if not m:
        raise ConfigError(f"not a size: {value!r} (write e.g. 1G, 512M, 65536K)")
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


@dataclass(frozen=True)
class MemoryLayout:
    """A machine's memory: architecture, page size, total and movable bytes."""

    arch: str = "x86_64"
    page_size: int = 4096
    total: int = 64 * MiB
    movable: int = 0

    def __post_init__(self):
        object.__setattr__(self, "total", parse_size(self.total))
        object.__setattr__(self, "movable", parse_size(self.movable))
        if self.arch not in ARCHES:
            raise ConfigError(f"unknown architecture {self.arch!r}: use one of {', '.join(ARCHES)}")
        if self.page_size not in PAGE_SIZES:
            raise ConfigError(f"page size {self.page_size} is not supported: use 4096 or 8192")
        if self.total <= 0 or self.total % self.page_size:
            raise ConfigError(f"total memory {self.total} is not a whole number of {self.page_size}-byte pages")
        if self.total < 2 * MiB:
            raise ConfigError("total memory must be at least 2 MiB")
        if not 0 <= self.movable < self.total or self.movable % self.page_size:
            raise ConfigError(f"movable {self.movable} must be whole pages and less than total memory")

    @property
    def page_shift(self):
        return self.page_size.bit_length() - 1

    @property
    def nr_pages(self):
        return self.total >> self.page_shift

    @property
    def page_offset(self):
        return ARCHES[self.arch][0]

    @property
    def has_highmem(self):
        return ARCHES[self.arch][2] is not None

    @property
    def has_dma32(self):
        return self.arch == "x86_64"

    @property
    def lowmem_pages(self):
        """Page frames with a permanent kernel mapping (below HighMem)."""
        start = ARCHES[self.arch][2]
        return self.nr_pages if start is None else min(self.nr_pages, start >> self.page_shift)

    def zone_spans(self):
        """[(zone_start_pfn, spanned_pages)] indexed by zone; (0, 0) if empty."""
        spans = [(0, 0)] * MAX_NR_ZONES
        start = 0
        highest = None
        for zone, end in ARCHES[self.arch][1]:
            end_pfn = self.nr_pages if end is None else min(self.nr_pages, end >> self.page_shift)
            if end_pfn > start:
                spans[zone] = (start, end_pfn - start)
                highest = zone
            start = max(start, end_pfn)
        if self.movable:
            mov = self.movable >> self.page_shift
            zstart, zlen = spans[highest]
            if mov >= zlen:
                raise ConfigError(f"movable {self.movable} bytes leaves nothing in zone "
                                  f"{highest}: make it smaller than that zone")
            spans[highest] = (zstart, zlen - mov)
            spans[ZONE_MOVABLE] = (zstart + zlen - mov, mov)
        return spans

    def describe(self):
        return f"{self.arch}, {self.total // MiB} MiB, {self.page_size // 1024} KiB pages"
