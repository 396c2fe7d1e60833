"""Frees and memory: bad page state now; slab double/invalid frees, poison,
redzones, leaks and cache destruction come from the slab layer's hooks.

Page level (mm/page_alloc.c bad_page): a page freed with a nonzero
_refcount, a non-NULL mapping, flags that must be clear at free, or a page
freed twice (put_page on _refcount 0).
"""

from kernel_model import context

from .base import Checker


class MemoryChecker(Checker):
    name = "memory"

    def bad_page(self, pfn, reason):
        cpu = context.this_cpu
        node = self.pgdat
        extra = ""
        if node is not None and 0 <= pfn < node.nr_pages:
            mm = node.mem_map
            extra = (f"\npage: refcount:{mm.ref[pfn]} mapcount:0 mapping:{mm.mapping[pfn]:016x} "
                     f"index:0x0 pfn:{pfn:#x}\nflags: {mm.flags[pfn]:#x}")
        kind = "double-free" if "double free" in reason else "bad-page"
        head = ("BUG: KASAN: double-free in __free_pages" if kind == "double-free"
                else f"BUG: Bad page state in process {cpu.comm}  pfn:{max(pfn, 0):05x}")
        self.emit(kind, f"{head}{extra}\npage dumped because: {reason}")
