"""vmalloc, vzalloc, vfree (mm/vmalloc.c of Linux 6.12).

A vmalloc area is virtually contiguous and physically scattered: vmalloc
reserves a range of page slots in the vmalloc address space (plus one
unmapped guard page, as without VM_NO_GUARD), then allocates the pages one
at a time (GFP_KERNEL | __GFP_HIGHMEM, as __vmalloc_area_node does) and
writes each pfn into the page-table array.  It may sleep: it calls
might_sleep, so vmalloc in atomic context is a reported bug.  vfree of an
address that is not page aligned (``Trying to vfree() bad address``) or not
the start of an area (``Trying to vfree() nonexistent vm area``) is reported
through ``debug.hooks.vfree_bad`` and ignored.

Address space: x86_64 VMALLOC_START 0xffffc90000000000; x86_32 high_memory
+ 8 MiB (VMALLOC_OFFSET).  One slot per page of RAM plus two per area row.

Arena sections (S = slots, A = MAX_VM_AREAS)::

    vmalloc_pte   u32[S]      pfn + 1 mapped at that slot, 0 none (guard/free)
    vmalloc_used  u8[S]       1 if the slot belongs to an area (guard included)
    vmalloc_head  u32[S]      at an area's first slot: its row + 1
    vmap_area     u64[A * 4]  row: 0 start slot + 1 (0: free row), 1 slots
                              (with guard), 2 nr_pages, 3 cpu + 1 that made it
    vmap_size     u64[A]      the size vmalloc was asked for (bytes past it, up
                              to the guard page, are KASAN's vmalloc redzone)

KASAN points (debug hooks, no-ops without a checker): kasan_unpoison_vmalloc
when an area is mapped, kasan_poison_vmalloc before vfree unmaps it.

Lock: vmap_area_lock (a spinlock) around slot reservation and release only;
page allocation and freeing run outside it, as in the kernel.
"""

from . import context, debug, page_alloc, pgdat as pgdat_mod, spinlock
from .errors import NotBootedWith
from .gfp import GFP_KERNEL, __GFP_HIGHMEM, __GFP_NOWARN, __GFP_ZERO, format_gfp
from .page import Page

MAX_VM_AREAS = 1024
VMALLOC_OFFSET = 8 << 20


def arena_sections(nr_pages):
    slots = nr_pages + 2 * MAX_VM_AREAS
    return [("vmalloc_pte", "I", slots), ("vmalloc_used", "B", slots),
            ("vmalloc_head", "I", slots), ("vmap_area", "Q", MAX_VM_AREAS * 4),
            ("vmap_size", "Q", MAX_VM_AREAS)]


class VmallocSpace:
    def __init__(self, pgdat):
        v = pgdat.arena.v
        self.pgdat = pgdat
        self.pte = v["vmalloc_pte"]
        self.used = v["vmalloc_used"]
        self.head = v["vmalloc_head"]
        self.area = v["vmap_area"]
        self.size = v["vmap_size"]
        self.slots = len(self.pte)
        lay = pgdat.layout
        if lay.arch == "x86_64":
            self.start = 0xFFFFC90000000000
        else:
            self.start = pgdat.page_offset + (pgdat.lowmem_pages << pgdat.page_shift) + VMALLOC_OFFSET
        self.end = self.start + (self.slots << pgdat.page_shift)
        self.lock = spinlock.spin_lock_init(pgdat.locks, "vmap_area_lock")


def _space():
    node = pgdat_mod.current()
    if node is None:
        raise RuntimeError("no model booted in this process: call kernel_model.boot() first")
    if getattr(node, "vmalloc", None) is None:
        raise NotBootedWith("this model was booted without vmalloc (it comes with the slab "
                            "allocator)", "slab", "slub")
    return node.vmalloc


def is_vmalloc_addr(addr):
    vm = _space()
    return addr is not None and vm.start <= addr < vm.end


def _reserve(vm, nr_slots, nr_pages):
    flags = spinlock.spin_lock_irqsave(vm.lock)
    try:
        pos = bytes(vm.used).find(bytes(nr_slots))
        if pos < 0:
            return None, None
        area = vm.area
        for row in range(MAX_VM_AREAS):
            if not area[row * 4]:
                break
        else:
            return None, None
        vm.used[pos:pos + nr_slots] = b"\x01" * nr_slots
        area[row * 4], area[row * 4 + 1], area[row * 4 + 2] = pos + 1, nr_slots, nr_pages
        area[row * 4 + 3] = context.this_cpu.id + 1
        vm.head[pos] = row + 1
        return pos, row
    finally:
        spinlock.spin_unlock_irqrestore(vm.lock, flags)


def _release(vm, pos, row, nr_slots):
    flags = spinlock.spin_lock_irqsave(vm.lock)
    vm.used[pos:pos + nr_slots] = bytes(nr_slots)
    vm.head[pos] = 0
    for i in range(4):
        vm.area[row * 4 + i] = 0
    vm.size[row] = 0
    spinlock.spin_unlock_irqrestore(vm.lock, flags)


def __vmalloc(size, gfp=GFP_KERNEL):
    vm = _space()
    node = vm.pgdat
    debug.hooks.might_sleep("mm/vmalloc.c:__vmalloc_node_range", gfp)
    if size <= 0:
        return None
    nr_pages = (size + node.page_size - 1) >> node.page_shift
    pos, row = _reserve(vm, nr_pages + 1, nr_pages)
    if pos is None:
        debug.printk(f"vmalloc error: size {size}, vm_struct allocation failed, "
                     f"mode:{gfp:#x}({format_gfp(gfp)})")
        return None
    page_gfp = gfp | __GFP_HIGHMEM | __GFP_NOWARN
    for i in range(nr_pages):
        pfn = page_alloc.__alloc_pages(node, page_gfp, 0)
        if pfn is None:
            debug.printk(f"vmalloc error: size {size}, failed to allocate pages, "
                         f"mode:{gfp:#x}({format_gfp(gfp)})")
            _unmap_free(vm, pos, i)
            _release(vm, pos, row, nr_pages + 1)
            return None
        vm.pte[pos + i] = pfn + 1
    addr = vm.start + (pos << node.page_shift)
    vm.size[row] = size
    debug.hooks.kasan_unpoison_vmalloc(addr, size, nr_pages)
    debug.hooks.slab_event("vmalloc", addr=addr, size=size, pages=nr_pages)
    return addr


def _unmap_free(vm, pos, n):
    node = vm.pgdat
    for i in range(n):
        pfn = vm.pte[pos + i] - 1
        vm.pte[pos + i] = 0
        page_alloc.__free_pages(node, pfn, 0)


def vmalloc(size):
    return __vmalloc(size, GFP_KERNEL)


def vzalloc(size):
    return __vmalloc(size, GFP_KERNEL | __GFP_ZERO)


def vfree(addr):
    """Free a vmalloc area; None is a no-op; a bad address is reported."""
    if addr is None:
        return
    vm = _space()
    node = vm.pgdat
    if not context.in_interrupt():
        debug.hooks.might_sleep("mm/vmalloc.c:vfree")
    if addr & (node.page_size - 1):
        debug.hooks.vfree_bad(addr, f"Trying to vfree() bad address ({addr:#x})")
        return
    pos = (addr - vm.start) >> node.page_shift
    if not 0 <= pos < vm.slots or not vm.head[pos]:
        debug.hooks.vfree_bad(addr, f"Trying to vfree() nonexistent vm area ({addr:#x})")
        return
    row = vm.head[pos] - 1
    nr_slots, nr_pages = vm.area[row * 4 + 1], vm.area[row * 4 + 2]
    debug.hooks.kasan_poison_vmalloc(addr, vm.size[row], nr_pages)
    _unmap_free(vm, pos, nr_pages)
    _release(vm, pos, row, nr_slots)


def vmalloc_to_pfn(addr):
    """The pfn mapped at a vmalloc address, or None (guard page, unmapped)."""
    vm = _space()
    pos = (addr - vm.start) >> vm.pgdat.page_shift
    if not 0 <= pos < vm.slots:
        return None
    p = vm.pte[pos]
    return p - 1 if p else None


def vmalloc_to_page(addr):
    """The struct page mapped at a vmalloc address, or None (guard page, unmapped)."""
    pfn = vmalloc_to_pfn(addr)
    return None if pfn is None else Page(_space().pgdat, pfn)


def vmalloc_data_offset(addr):
    """Byte offset in page_data of a vmalloc address (for reading and writing it)."""
    pfn = vmalloc_to_pfn(addr)
    if pfn is None:
        return None
    node = _space().pgdat
    return (pfn << node.page_shift) + (addr & (node.page_size - 1))


def vmalloc_areas():
    """[(addr, nr_pages)] of live areas (a /proc/vmallocinfo-like view)."""
    vm = _space()
    out = []
    for row in range(MAX_VM_AREAS):
        start = vm.area[row * 4]
        if start:
            out.append((vm.start + ((start - 1) << vm.pgdat.page_shift), vm.area[row * 4 + 2]))
    return out
