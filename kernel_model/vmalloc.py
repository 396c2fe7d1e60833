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

vfree is lazy, as in the kernel (free_unmap_vmap_area): it unmaps the pages
without a TLB flush (vunmap_range_noflush), frees them, and puts the
address range on the purge list (free_vmap_area_noflush) instead of back in
the free space; vmap_lazy_nr counts its pages.  When more than
lazy_max_pages() are lazy (fls(nr_cpus) * 32 MiB worth), or an allocation
finds no free range or area row, __purge_vmap_area_lazy flushes the TLBs
over the span of every lazy range at once (flush_tlb_kernel_range, tlb.py)
and only then frees the ranges.  A freed range is never handed out again
before that flush, so no CPU can hold a stale translation of a reused one.

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
    vmap_purge    u64[A * 2]  the purge list: start slot + 1, slots (guard included)
    vmap_lazy     i64[4]      0 vmap_lazy_nr (pages), 1 entries on the purge
                              list, 2 purges done

KASAN points (debug hooks, no-ops without a checker): kasan_unpoison_vmalloc
when an area is mapped, kasan_poison_vmalloc before vfree unmaps it.

Lock: vmap_area_lock (a spinlock) around slot reservation, release and the
purge (the kernel's vmap_purge_lock and free/purge tree locks in one; it
also serialises flush_tlb_kernel_range's writers); page allocation and
freeing run outside it, as in the kernel.
"""

from . import context, debug, page_alloc, pgdat as pgdat_mod, spinlock, tlb
from .errors import NotBootedWith
from .gfp import GFP_KERNEL, __GFP_HIGHMEM, __GFP_NOWARN, __GFP_ZERO, format_gfp
from .page import Page

MAX_VM_AREAS = 1024
VMALLOC_OFFSET = 8 << 20
LAZY_NR, LAZY_ENTRIES, LAZY_PURGES = 0, 1, 2


def arena_sections(nr_pages):
    slots = nr_pages + 2 * MAX_VM_AREAS
    return [("vmalloc_pte", "I", slots), ("vmalloc_used", "B", slots),
            ("vmalloc_head", "I", slots), ("vmap_area", "Q", MAX_VM_AREAS * 4),
            ("vmap_size", "Q", MAX_VM_AREAS), ("vmap_purge", "Q", MAX_VM_AREAS * 2),
            ("vmap_lazy", "q", 4)]


class VmallocSpace:
    def __init__(self, pgdat):
        v = pgdat.arena.v
        self.pgdat = pgdat
        self.pte = v["vmalloc_pte"]
        self.used = v["vmalloc_used"]
        self.head = v["vmalloc_head"]
        self.area = v["vmap_area"]
        self.size = v["vmap_size"]
        self.purge = v["vmap_purge"]
        self.lazy = v["vmap_lazy"]
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


def lazy_max_pages(vm):
    """fls(num_online_cpus()) * (32 MiB / PAGE_SIZE) (mm/vmalloc.c)."""
    node = vm.pgdat
    return node.nr_cpus.bit_length() * ((32 << 20) >> node.page_shift)


def __purge_vmap_area_lazy(vm):
    """Flush every CPU's TLB over the span of the lazily freed ranges, then free
    them; vmap_area_lock held.  Returns the pages purged."""
    lazy = vm.lazy
    n = lazy[LAZY_ENTRIES]
    if not n:
        return 0
    purge, used = vm.purge, vm.used
    ranges = [(purge[2 * i] - 1, purge[2 * i + 1]) for i in range(n)]
    node = vm.pgdat
    start = min(p for p, _ in ranges)
    end = max(p + k for p, k in ranges)
    tlb.flush_tlb_kernel_range(node, vm.start + (start << node.page_shift),
                               vm.start + (end << node.page_shift))
    pages = 0
    for pos, k in ranges:
        used[pos:pos + k] = bytes(k)
        pages += k
    lazy[LAZY_ENTRIES] = 0
    lazy[LAZY_NR] -= pages
    lazy[LAZY_PURGES] += 1
    debug.hooks.slab_event("purge_vmap_area_lazy", start=vm.start + (start << node.page_shift),
                           end=vm.start + (end << node.page_shift), pages=pages)
    return pages


def purge_vmap_area_lazy():
    """Purge the lazily freed ranges now, flushing the TLBs; returns the pages purged.
    vm_unmap_aliases() does this too (the model has no per-CPU vmap blocks)."""
    vm = _space()
    flags = spinlock.spin_lock_irqsave(vm.lock)
    try:
        return __purge_vmap_area_lazy(vm)
    finally:
        spinlock.spin_unlock_irqrestore(vm.lock, flags)


vm_unmap_aliases = purge_vmap_area_lazy


def _reserve(vm, nr_slots, nr_pages):
    """alloc_vmap_area: a free range and row; when there is none, purge the lazy
    ranges and look once more (the kernel's ``purged`` retry)."""
    flags = spinlock.spin_lock_irqsave(vm.lock)
    try:
        pos, row = _find_free(vm, nr_slots)
        if pos is None and __purge_vmap_area_lazy(vm):
            pos, row = _find_free(vm, nr_slots)
        if pos is None:
            return None, None
        area = vm.area
        vm.used[pos:pos + nr_slots] = b"\x01" * nr_slots
        area[row * 4], area[row * 4 + 1], area[row * 4 + 2] = pos + 1, nr_slots, nr_pages
        area[row * 4 + 3] = context.this_cpu.id + 1
        vm.head[pos] = row + 1
        return pos, row
    finally:
        spinlock.spin_unlock_irqrestore(vm.lock, flags)


def _find_free(vm, nr_slots):
    pos = bytes(vm.used).find(bytes(nr_slots))
    if pos < 0:
        return None, None
    area = vm.area
    for row in range(MAX_VM_AREAS):
        if not area[row * 4]:
            return pos, row
    return None, None


def _release(vm, pos, row, nr_slots):
    """Give back a range that was never mapped (a failed vmalloc): no flush needed."""
    flags = spinlock.spin_lock_irqsave(vm.lock)
    vm.used[pos:pos + nr_slots] = bytes(nr_slots)
    _clear_row(vm, pos, row)
    spinlock.spin_unlock_irqrestore(vm.lock, flags)


def _clear_row(vm, pos, row):
    vm.head[pos] = 0
    for i in range(4):
        vm.area[row * 4 + i] = 0
    vm.size[row] = 0


def free_vmap_area_noflush(vm, pos, row, nr_slots):
    """The area is gone (find_vm_area fails from here on), its range goes on the
    purge list; past lazy_max_pages, purge (the kernel schedules drain_vmap_work)."""
    flags = spinlock.spin_lock_irqsave(vm.lock)
    try:
        _clear_row(vm, pos, row)
        lazy = vm.lazy
        if lazy[LAZY_ENTRIES] >= MAX_VM_AREAS:
            __purge_vmap_area_lazy(vm)
        i = lazy[LAZY_ENTRIES]
        vm.purge[2 * i], vm.purge[2 * i + 1] = pos + 1, nr_slots
        lazy[LAZY_ENTRIES] = i + 1
        lazy[LAZY_NR] += nr_slots
        if lazy[LAZY_NR] > lazy_max_pages(vm):
            __purge_vmap_area_lazy(vm)
    finally:
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
    _unmap_free(vm, pos, nr_pages)               # vunmap_range_noflush, then the pages
    free_vmap_area_noflush(vm, pos, row, nr_slots)


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
