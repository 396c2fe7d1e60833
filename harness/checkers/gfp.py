"""GFP misuse that the model reports through ``debug.hooks.report``.

The model knows the rules (kmalloc_fix_flags, __get_free_pages with HighMem,
__GFP_NOFAIL without reclaim or at costly order) and calls ``report(kind,
text)`` with the kernel's own message; this checker turns those into
violations.  GFP_ZONE_BAD is an error (GfpError) raised at the call, which the
harness reports as ``gfp-zone-bad``; a DMA allocation served above 16 MiB is
checked here at page_alloc time.
"""

from kernel_model import context
from kernel_model.layout import MiB

from .base import Checker
from .kinds import KINDS

MODEL_KINDS = {
    "gfp-slab-bug": "gfp-slab-bug", "unexpected-gfp": "gfp-slab-bug",
    "gfp-highmem": "gfp-highmem-address",
    "nofail-atomic": "gfp-nofail-atomic", "nofail-costly": "gfp-nofail-costly",
}


class GfpChecker(Checker):
    name = "gfp"

    def report(self, kind, text):
        mapped = MODEL_KINDS.get(kind, kind if kind in KINDS else None)
        if mapped is not None and KINDS[mapped].family == "gfp":
            self.emit(mapped, text)

    def page_alloc(self, pfn, order, gfp):
        if gfp & 0x01 and self.pgdat is not None:
            end = (pfn + (1 << order)) << self.pgdat.page_shift
            if end > 16 * MiB:
                self.emit("gfp-dma-zone", f"GFP_DMA allocation at pfn {pfn:#x} order {order} on "
                          f"CPU {context.this_cpu.id} is above 16 MiB")
