"""GFP misuse that the model reports through ``debug.hooks.report``.

The model knows the rules (kmalloc_fix_flags, __get_free_pages with HighMem,
__GFP_NOFAIL without reclaim or at costly order) and calls ``report(kind,
text)`` with the kernel's own message; this checker turns those into
violations.  A DMA allocation served above 16 MiB is checked here at
page_alloc time.

GFP_ZONE_BAD: the kernel's gfp_zone() stops on it (VM_BUG_ON with
CONFIG_DEBUG_VM); the model asks ``gfp_zone_bad(gfp)`` first, this checker
reports ``gfp-zone-bad`` and the allocation fails (NULL), so the run goes on
and the report is the kernel's, not a Python traceback.  (Without the
checker the model raises GfpError, a usage error.)

__GFP_NOFAIL misuse: the kernel warns in __alloc_pages_slowpath, so only when
memory is short; that makes a latent bug depend on memory pressure.  The
checker looks at the mask of every successful page allocation as well
(``page_alloc``), with the same text as the model's slow-path warning, so a
misuse is found on the first call and a slow-path repeat is counted, not
repeated.
"""

from kernel_model import gfp as g
from kernel_model.gfp import GFP_ZONEMASK, format_gfp
from kernel_model.layout import MiB
from kernel_model.zone import PAGE_ALLOC_COSTLY_ORDER

from .base import Checker
from .kinds import KINDS

NOFAIL, DIRECT_RECLAIM = g.__dict__["__GFP_NOFAIL"], g.__dict__["__GFP_DIRECT_RECLAIM"]

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
            self.violation(mapped, details={"message": text, "from_model": True})

    def gfp_zone_bad(self, gfp):
        self.violation("gfp-zone-bad", function="gfp_zone",
                       details={"gfp": gfp, "gfp_text": format_gfp(gfp),
                                "zone_text": format_gfp(gfp & GFP_ZONEMASK)})
        return True

    def page_alloc(self, pfn, order, gfp):
        if gfp & NOFAIL:
            if not gfp & DIRECT_RECLAIM:
                self.violation("gfp-nofail-atomic", function="__alloc_pages",
                               details={"gfp": gfp, "gfp_text": format_gfp(gfp)})
            if order > PAGE_ALLOC_COSTLY_ORDER:
                self.violation("gfp-nofail-costly", function="__alloc_pages",
                               details={"gfp": gfp, "gfp_text": format_gfp(gfp), "order": order})
        if gfp & 0x01 and self.pgdat is not None:
            end = (pfn + (1 << order)) << self.pgdat.page_shift
            if end > 16 * MiB:
                self.violation("gfp-dma-zone", function="__alloc_pages",
                               details={"pfn": pfn, "order": order})
