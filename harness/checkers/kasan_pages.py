"""KASAN outside the slab: page allocator, large kmalloc and vmalloc memory.

``memory.py`` checks accesses to slab objects; this checker keeps generic
KASAN's shadow for everything else the model hands out and reports accesses
to it in the kernel's words (mm/kasan/report.c, report_generic.c, 6.12):

    memory                 poisoned                        report (kind)
    page allocator         whole block on free             BUG: KASAN: use-after-free in F
                           (kasan_poison_pages), unpoisoned   (use-after-free)
                           on allocation
    large kmalloc          bytes past the requested size   BUG: KASAN: slab-out-of-bounds in F
      (> KMALLOC_MAX_CACHE   (KASAN_PAGE_REDZONE: generic      (out-of-bounds); freed: as a page
       _SIZE, page backed)   KASAN calls it slab-o-o-b)        (use-after-free); leaks (leak)
    vmalloc                bytes past the requested size   BUG: KASAN: vmalloc-out-of-bounds in F
                           up to the guard page; the guard     (out-of-bounds)
                           page (an unmapped page: the
                           access also page-faults)
                           a freed area until its slots    BUG: KASAN: vmalloc-out-of-bounds in F
                           are reused (kasan_poison_vmalloc:   (use-after-free: the shadow value,
                           KASAN_VMALLOC_INVALID)              KASAN_VMALLOC_INVALID, is the same)
    nothing mapped         no shadow                       not here: the k API raises the kernel's
                                                           Oops text (BUG: kernel NULL pointer
                                                           dereference / unable to handle page
                                                           fault), a workload-error

Reports name the access (``Read of size N at addr A by task T``), where the
address is relative to its page or mapping (``The buggy address belongs to
the physical page:`` + the struct page dump, ``The buggy address belongs to
the virtual mapping at [start, end) created by:``), and the allocation and
free sites (page_owner's ``page last allocated via order ...`` / ``page last
free ...``).  Accesses to slab pages are left to memory.py; pages whose
state the checker never saw (allocated before it was installed) are not
checked.  Live large kmallocs are objects of kmemleak's end-of-run scan
(``large_objects``), so an unreferenced one is reported as a leak like a slab object.

With ``pgdat.page_poisoning`` (``[debug] page_poison = true``) the checker
also does CONFIG_PAGE_POISONING's work: freed pages are filled with
PAGE_POISON (0xaa) and checked when allocated again; a changed byte is
``pagealloc: memory corruption`` (kind use-after-free) with the page's sites,
found even for writes KASAN did not see.

Arena sections (N = nr_pages, S = vmalloc slots = N + 2 * MAX_VM_AREAS,
T = N + S track rows: a page's row is its pfn, a vm area's is N + its first
slot; sized from ``nr_pages``: without it the checker has no state and
checks nothing)::

    kasan_pg_state   u8[N]    PG_UNKNOWN / PG_ALLOCATED / PG_FREED / PG_LARGE (the
                              shadow; PG_LARGE: allocated, a large kmalloc)
    kasan_pg_head    u32[N]   head pfn + 1 of the block that covers the page
    kasan_pg_order   u8[N]    at a head: order of the block
    kasan_pg_gfp     u32[N]   at a head: gfp of the allocation
    kasan_pg_size    u64[N]   at a large kmalloc head: the size asked for, else 0
    kasan_vm_state   u8[S]    VM_UNKNOWN / VM_LIVE / VM_FREED (guard slot included)
    kasan_vm_start   u32[S]   first slot + 1 of the area that covers the slot
    kasan_vm_size    u64[S]   at an area's first slot: the size asked for
    kasan_tr_seq     u64[2T]  [2 * row + ALLOC|FREE]: cpu.seq
    kasan_tr_where   u16[2T]  slab_debug.track_where word (cpu + 1, context), 0 none
    kasan_tr_pid     u32[2T]
    kasan_tr_site    u32[2T]  site id (kasan_site_name), 0 none
    kasan_site_name  u8[MAX_CPUS * SITES * 64]  per-CPU site table
    kasan_site_count u32[MAX_CPUS]

A page's rows are written by the CPU that allocates or frees it (the page
allocator gives a block to one CPU at a time), an area's by the CPU that
vmallocs or vfrees it; a site table only by its own CPU.  No locks.
"""

import sys

import numpy as np

from kernel_model import context, slab_debug
from kernel_model.gfp import format_gfp
from kernel_model.kmalloc import LARGE_KMALLOC
from kernel_model.page import PGTY_slab, format_page_flags
from kernel_model.vmalloc import MAX_VM_AREAS, vmalloc_to_pfn

from .base import Checker
from .record import rel
from .memory import _API, _SKIP

PG_UNKNOWN, PG_ALLOCATED, PG_FREED, PG_LARGE = 0, 1, 2, 3    # PG_LARGE: a large kmalloc
PAGE_POISON = 0xAA            # include/linux/poison.h
VM_UNKNOWN, VM_LIVE, VM_FREED = 0, 1, 2
ALLOC, FREE = 0, 1
MAX_CPUS = 64
SITES = 256
SITE_LEN = 64
SHOW = 4

KASAN_LINE = "=" * 66


def where():
    """(model API the workload called, workload site "file:line (func)", func name)."""
    f = sys._getframe(1)
    api = None
    while f is not None:
        fname = f.f_code.co_filename
        if "/kernel_model/" in fname:
            if f.f_code.co_name in _API:
                api = f.f_code.co_name
        elif not any(d in fname for d in _SKIP):
            return api, f"{rel(fname)}:{f.f_lineno} ({f.f_code.co_name})", f.f_code.co_name
        f = f.f_back
    return api, "?", "?"


SMALL_ORDER = 3            # blocks up to 8 pages: shadow bytes stored one by one
_SKIP_DIRS = (slab_debug._MODEL_DIR, __file__.rsplit("/", 1)[0] + "/")


class KasanPagesChecker(Checker):
    name = "kasan_pages"

    @staticmethod
    def arena_sections(max_locks=None, nr_pages=None):
        if not nr_pages:
            return []
        n, s = nr_pages, nr_pages + 2 * MAX_VM_AREAS
        t = n + s
        return [("kasan_pg_state", "B", n), ("kasan_pg_head", "I", n),
                ("kasan_pg_order", "B", n), ("kasan_pg_gfp", "I", n), ("kasan_pg_size", "Q", n),
                ("kasan_vm_state", "B", s), ("kasan_vm_start", "I", s), ("kasan_vm_size", "Q", s),
                ("kasan_tr_seq", "Q", 2 * t), ("kasan_tr_where", "H", 2 * t),
                ("kasan_tr_pid", "I", 2 * t), ("kasan_tr_site", "I", 2 * t),
                ("kasan_site_name", "B", MAX_CPUS * SITES * SITE_LEN),
                ("kasan_site_count", "I", MAX_CPUS)]

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        v = pgdat.arena.v if pgdat is not None else {}
        self.on = "kasan_pg_state" in v
        self.page_poisoning = self.on and bool(getattr(pgdat, "page_poisoning", False)) \
            and pgdat.data is not None
        self._poison_page = bytes((PAGE_POISON,)) * pgdat.page_size if self.page_poisoning else b""
        self._site_ids = {}
        self._skip_files = {}
        self._vm = getattr(pgdat, "vmalloc", None) if self.on else None
        if not self.on:
            self.memory_access = self._off         # no shadow: nothing to check
            return
        self._mm = pgdat.mem_map
        self._shift = pgdat.page_shift
        self.pg_state, self.pg_head = v["kasan_pg_state"], v["kasan_pg_head"]
        self.pg_order, self.pg_gfp, self.pg_size = (v["kasan_pg_order"], v["kasan_pg_gfp"],
                                                    v["kasan_pg_size"])
        self.vm_state, self.vm_start, self.vm_size = (v["kasan_vm_state"], v["kasan_vm_start"],
                                                      v["kasan_vm_size"])
        self.tr_seq, self.tr_where = v["kasan_tr_seq"], v["kasan_tr_where"]
        self.tr_pid, self.tr_site = v["kasan_tr_pid"], v["kasan_tr_site"]
        self.site_name, self.site_count = v["kasan_site_name"], v["kasan_site_count"]
        self._np_state = np.frombuffer(self.pg_state, dtype=np.uint8)
        self._np_head = np.frombuffer(self.pg_head, dtype=np.uint32)
        self._np_vm_state = np.frombuffer(self.vm_state, dtype=np.uint8)
        self._np_vm_start = np.frombuffer(self.vm_start, dtype=np.uint32)
        self._nvm_row = pgdat.nr_pages
        self._po = pgdat.page_offset
        self._lowmem_end = pgdat.lowmem_pages << pgdat.page_shift
        self._vm_start = self._vm.start if self._vm is not None else -1
        self._vm_end = self._vm.end if self._vm is not None else -1

    # -- tracks -------------------------------------------------------------------------
    def _skip(self, fname):
        skip = self._skip_files.get(fname)
        if skip is None:
            skip = self._skip_files[fname] = (fname.startswith(_SKIP_DIRS)
                                              or fname in slab_debug.WRAPPER_FILES
                                              or "/harness/checkers/" in fname)
        return skip

    def _site(self):
        """Site id of the first caller outside the model, the checkers and the k API."""
        f = sys._getframe(2)
        get = self._skip_files.get
        while f is not None:
            fname = f.f_code.co_filename
            skip = get(fname)
            if skip is None:
                skip = self._skip(fname)
            if not skip:
                break
            f = f.f_back
        if f is None:
            return 0
        key = (f.f_code, f.f_lineno)
        sid = self._site_ids.get(key)
        if sid is not None:
            return sid
        cpu = context.this_cpu.id % MAX_CPUS
        n = self.site_count[cpu]
        if n + 1 >= SITES:
            return 0
        n += 1
        tail = f":{f.f_lineno} ({f.f_code.co_name})"
        path = rel(f.f_code.co_filename)
        if len(path.encode()) + len(tail.encode()) > SITE_LEN:    # a short row: the file name
            path = path.rsplit("/", 1)[-1]
        text = path + tail
        off = (cpu * SITES + n) * SITE_LEN
        self.site_name[off:off + SITE_LEN] = text.encode()[:SITE_LEN].ljust(SITE_LEN, b"\0")
        self.site_count[cpu] = n
        sid = self._site_ids[key] = cpu * SITES + n
        return sid

    def _set_track(self, row, which):
        cpu = context.this_cpu
        i = 2 * row + which
        self.tr_seq[i] = cpu.seq
        self.tr_where[i] = (cpu.id + 1) << slab_debug.TRACK_CPU_SHIFT | cpu.context()
        self.tr_pid[i] = cpu.pid
        self.tr_site[i] = self._site()
        if not which:
            self.tr_where[i + 1] = 0            # a new allocation has no free yet

    def _track(self, row, which):
        i = 2 * row + which
        w = self.tr_where[i]
        if not w:
            return None
        sid = self.tr_site[i]
        site = "?"
        if sid:
            off = sid * SITE_LEN
            site = bytes(self.site_name[off:off + SITE_LEN]).rstrip(b"\0").decode()
        return {"cpu": slab_debug.track_cpu(w), "seq": self.tr_seq[i], "pid": self.tr_pid[i],
                "context": context.CTX_NAMES[slab_debug.track_context(w)], "site": site}

    @staticmethod
    def _track_site(t):
        return f"CPU {t['cpu']} {t['context']} op {t['seq']} {t['site']}" if t else ""

    def _head(self, pfn):
        """The head pfn of the block that covers ``pfn`` (itself if none was seen)."""
        head = self.pg_head[pfn] - 1
        return head if head >= 0 else pfn

    # -- page allocator: kasan_unpoison_pages / kasan_poison_pages ------------------------
    def page_alloc(self, pfn, order, gfp):
        if not self.on:
            return
        if self.page_poisoning and self.pg_state[pfn] == PG_FREED:
            self._check_poison(pfn, order)
        if order > SMALL_ORDER:
            n = 1 << order
            self._np_state[pfn:pfn + n] = PG_ALLOCATED
            self._np_head[pfn:pfn + n] = pfn + 1
        elif order:                                # a few pages: plain stores beat numpy's setup
            state, head = self.pg_state, self.pg_head
            for p in range(pfn, pfn + (1 << order)):
                state[p] = PG_ALLOCATED
                head[p] = pfn + 1
        else:
            self.pg_state[pfn] = PG_ALLOCATED
            self.pg_head[pfn] = pfn + 1
        self.pg_order[pfn] = order
        self.pg_gfp[pfn] = gfp & 0xFFFFFFFF
        self.pg_size[pfn] = 0
        self._set_track(pfn, ALLOC)

    def page_free(self, pfn, order):
        if not self.on:
            return
        if order > SMALL_ORDER:                    # (pg_head: set for the block at alloc)
            self._np_state[pfn:pfn + (1 << order)] = PG_FREED
        elif order:
            state = self.pg_state
            for p in range(pfn, pfn + (1 << order)):
                state[p] = PG_FREED
        else:
            self.pg_state[pfn] = PG_FREED
        self.pg_head[pfn] = pfn + 1
        self._set_track(pfn, FREE)
        if self.page_poisoning:                      # kernel_poison_pages
            node = self.pgdat
            start, size = pfn << self._shift, node.page_size << order
            node.data[start:start + size] = bytes((PAGE_POISON,)) * size

    def _check_poison(self, pfn, order):
        """check_poison_mem(): the freed block must still hold PAGE_POISON."""
        node = self.pgdat
        n = 1 << order
        for p in range(pfn, pfn + n):
            if self.pg_state[p] != PG_FREED:
                continue                             # never poisoned (allocated at boot)
            start = p << self._shift
            data = bytes(node.data[start:start + node.page_size])
            if data == self._poison_page:
                continue
            off = next(i for i, b in enumerate(data) if b != PAGE_POISON)
            end = len(data) - next(i for i, b in enumerate(reversed(data)) if b != PAGE_POISON)
            single = end - off == 1 and bin(data[off] ^ PAGE_POISON).count("1") == 1
            head = self._head(p)
            lines = ["pagealloc: single bit error" if single else "pagealloc: memory corruption",
                     f"{node.pfn_to_virt(p) + off:#x}: " + " ".join(
                         f"{b:02x}" for b in data[off:min(end, off + 16)]),
                     f"(bytes {off}..{end - 1} of pfn {p:#x} changed after the page was freed: "
                     "a write after free_pages, found by page poisoning when the page was "
                     "allocated again)"]
            page_lines, sites = self._page_lines(head)
            lines += page_lines
            lines[lines.index("page dumped because: kasan: bad access detected")] = \
                "page dumped because: pagealloc: corrupted page details"
            api, site, func = where()
            self.emit("use-after-free", "\n".join(lines), site, sites)
            node.data[start:start + node.page_size] = self._poison_page

    def slab_alloc(self, cache_name, addr, size, gfp):
        """A large kmalloc (cache None): bytes past ``size`` become its redzone."""
        if cache_name is None and self.on:
            pfn = self.pgdat.virt_to_pfn(addr)
            if pfn is not None:
                self.pg_size[pfn] = size
                self._np_state[pfn:pfn + (1 << self.pg_order[pfn])] = PG_LARGE

    # -- vmalloc: kasan_unpoison_vmalloc / kasan_poison_vmalloc --------------------------
    def kasan_unpoison_vmalloc(self, addr, size, nr_pages):
        if self._vm is None:
            return
        pos = (addr - self._vm.start) >> self._shift
        self._np_vm_state[pos:pos + nr_pages + 1] = VM_LIVE
        self._np_vm_start[pos:pos + nr_pages + 1] = pos + 1
        self.vm_size[pos] = size
        self._set_track(self._nvm_row + pos, ALLOC)

    def kasan_poison_vmalloc(self, addr, size, nr_pages):
        if self._vm is None:
            return
        pos = (addr - self._vm.start) >> self._shift
        self._np_vm_state[pos:pos + nr_pages + 1] = VM_FREED
        self._set_track(self._nvm_row + pos, FREE)

    # -- accesses -------------------------------------------------------------------------
    def memory_access(self, addr, size, write):
        off = addr - self._po
        if 0 <= off < self._lowmem_end:
            shift = self._shift
            pfn = off >> shift
            if (off + size - 1) >> shift == pfn and self.pg_state[pfn] == PG_ALLOCATED:
                return False                        # the common case: one allocated page
            return self._page_access(addr, size, write, off)
        if self._vm_start <= addr < self._vm_end:
            return self._vmalloc_access(addr, size, write)
        return False

    @staticmethod
    def _off(addr, size, write):
        pass

    def _page_access(self, addr, size, write, off):
        shift = self._shift
        pfn = off >> shift
        last = min(off + max(size, 1) - 1, self._lowmem_end - 1) >> shift
        node = self.pgdat
        for p in range(pfn, last + 1):
            state = self.pg_state[p]
            if state == PG_LARGE:
                head = self._head(p)
                big = self.pg_size[head]
                if big:
                    end = node.pfn_to_virt(head) + big
                    if addr + size > end:
                        self._page_report("slab-out-of-bounds", "out-of-bounds", max(addr, end),
                                          size, write, head)
                        return True
            elif state == PG_FREED:
                if self._mm.type[p] == PGTY_slab:
                    return False                    # a slab page memory.py knows better
                first = max(addr, node.pfn_to_virt(p))
                self._page_report("use-after-free", "use-after-free", first, size, write,
                                  self._head(p))
                return True
        return False

    def _vmalloc_access(self, addr, size, write):
        vm = self._vm
        pos = (addr - vm.start) >> self._shift
        if self.vm_state[pos] != VM_LIVE:
            return False                            # unmapped: kernel_fault reports it
        start = self.vm_start[pos] - 1
        end = vm.start + (start << self._shift) + self.vm_size[start]
        if addr + size > end:
            self._vmalloc_report("out-of-bounds", max(addr, end), size, write, start,
                                 "the bytes past the size vmalloc was asked for, before the "
                                 "guard page (mapped, but KASAN's vmalloc redzone)")
            return True
        return False

    def kernel_fault(self, addr, size, write):
        if not self.on:
            return False
        node, vm = self.pgdat, self._vm
        if vm is not None and vm.start <= addr + size - 1 and addr < vm.end:
            bad = addr
            ps = node.page_size
            while bad < addr + size and self._mapped(bad):
                bad = (bad // ps + 1) * ps
            bad = min(max(bad, addr), addr + size - 1)
            pos = (bad - vm.start) >> self._shift
            state = self.vm_state[pos] if 0 <= pos < vm.slots else VM_UNKNOWN
            if state == VM_LIVE:
                self._vmalloc_report("out-of-bounds", bad, size, write, self.vm_start[pos] - 1,
                                     "the guard page after the area: unmapped, so the access "
                                     "also faults", fault=True)
                return True
            if state == VM_FREED:
                self._vmalloc_report("use-after-free", bad, size, write,
                                     self.vm_start[pos] - 1, "an area freed by vfree(): its "
                                     "pages are unmapped until the slots are reused (a "
                                     "use-after-free; generic KASAN's name for the "
                                     "KASAN_VMALLOC_INVALID shadow is vmalloc-out-of-bounds)",
                                     fault=True)
                return True
        return False            # no shadow here: the k API oopses (workload-error)

    @staticmethod
    def _mapped(addr):
        return vmalloc_to_pfn(addr) is not None

    # -- report text ------------------------------------------------------------------------
    def _access_lines(self, addr, size, write, site):
        cpu = context.this_cpu
        return [f"{'Write' if write else 'Read'} of size {size} at addr {addr:#x} by task "
                f"{cpu.comm}/{cpu.pid} on cpu {cpu.id} ({context.CTX_NAMES[cpu.context()]} "
                "context)", "", f"Call trace: {'k.write' if write else 'k.read'} <- {site}", ""]

    @staticmethod
    def _fault_lines(addr, write):
        return ["", f"BUG: unable to handle page fault for address: {addr:#x}",
                f"#PF: supervisor {'write' if write else 'read'} access in kernel mode",
                f"#PF: error_code({0x2 if write else 0x0:#06x}) - not-present page",
                "(the model drops the access and goes on; the kernel would oops here)"]

    def _page_lines(self, head):
        """The struct page dump and page_owner's last allocation and free of a block."""
        mm = self._mm
        order = self.pg_order[head]
        lines = ["The buggy address belongs to the physical page:",
                 f"page: refcount:{mm.ref[head]} mapcount:0 mapping:{mm.mapping[head]:016x} "
                 f"index:0x0 pfn:{head:#x}"]
        if order:
            lines.append(f"head: order:{order} pincount:0")
        lines.append(f"flags: {format_page_flags(mm.flags[head])}")
        if mm.private[head] == LARGE_KMALLOC:
            lines.append("page_type: large kmalloc")
        lines.append("page dumped because: kasan: bad access detected")
        sites = {}
        alloc, free = self._track(head, ALLOC), self._track(head, FREE)
        if alloc:
            gfp = self.pg_gfp[head]
            lines += [f"page last allocated via order {order}, migratetype Unmovable, gfp_mask "
                      f"{gfp:#x}({format_gfp(gfp)}), pid {alloc['pid']}, cpu {alloc['cpu']} "
                      f"({alloc['context']} context, op {alloc['seq']}):", f" {alloc['site']}"]
            sites["alloc"] = self._track_site(alloc)
        if free:
            lines += [f"page last free pid {free['pid']}, cpu {free['cpu']} ({free['context']} "
                      f"context, op {free['seq']}):", f" {free['site']}"]
            sites["free"] = self._track_site(free)
        return lines, sites

    def _page_report(self, bug, kind, first, size, write, head):
        api, site, func = where()
        node = self.pgdat
        lines = [KASAN_LINE, f"BUG: KASAN: {bug} in {func}"]
        lines += self._access_lines(first, size, write, site)
        big = self.pg_size[head]
        base = node.pfn_to_virt(head)
        if big and (kind == "out-of-bounds" or self.pg_state[head] == PG_FREED):
            lines += [f"The buggy address belongs to a large kmalloc object at {base:#x} "
                      "(above KMALLOC_MAX_CACHE_SIZE, served by the page allocator)",
                      f"The buggy address is located {first - base - big if first >= base + big else first - base} "
                      f"bytes {'to the right of' if first >= base + big else 'inside'}",
                      f" {'allocated' if kind == 'out-of-bounds' else 'freed'} {big}-byte region "
                      f"[{base:#x}, {base + big:#x})", ""]
        elif kind == "use-after-free":
            pages = 1 << self.pg_order[head]
            lines += [f"The buggy address is located {first - base} bytes inside the freed "
                      f"{pages}-page block [{base:#x}, {base + pages * node.page_size:#x})", ""]
        page_lines, sites = self._page_lines(head)
        lines += page_lines + [KASAN_LINE]
        self.emit(kind, "\n".join(lines), site, sites)

    def _vmalloc_report(self, kind, first, size, write, start, what, fault=False):
        api, site, func = where()
        vm = self._vm
        base = vm.start + (start << self._shift)
        asked = self.vm_size[start]
        nr_pages = (asked + self.pgdat.page_size - 1) >> self._shift
        end = base + (nr_pages << self._shift)
        lines = [KASAN_LINE, f"BUG: KASAN: vmalloc-out-of-bounds in {func}"]
        lines += self._access_lines(first, size, write, site)
        alloc = self._track(self._nvm_row + start, ALLOC)
        free = self._track(self._nvm_row + start, FREE) if kind == "use-after-free" else None
        lines += ["The buggy address belongs to the virtual mapping at",
                  f" [{base:#x}, {end + self.pgdat.page_size:#x}) created by:",
                  f" vmalloc({asked}) at {alloc['site'] if alloc else '?'}"
                  + (f" (cpu {alloc['cpu']}, {alloc['context']} context, op {alloc['seq']})"
                     if alloc else "")]
        if free:
            lines.append(f" freed by vfree() at {free['site']} (cpu {free['cpu']}, "
                         f"{free['context']} context, op {free['seq']})")
        rel = first - base
        lines += ["", f"The buggy address is located {rel} bytes into the mapping: {what}.",
                  f"The {asked}-byte region is [{base:#x}, {base + asked:#x}); pages "
                  f"[{base:#x}, {end:#x}); guard page [{end:#x}, {end + self.pgdat.page_size:#x})"]
        if not fault:
            pfn = vmalloc_to_pfn(first)
            if pfn is not None:
                mm = self._mm
                lines += ["", "The buggy address belongs to the physical page:",
                          f"page: refcount:{mm.ref[pfn]} mapcount:0 mapping:"
                          f"{mm.mapping[pfn]:016x} index:0x0 pfn:{pfn:#x}",
                          f"flags: {format_page_flags(mm.flags[pfn])}"]
        else:
            lines += self._fault_lines(first, write)
        lines.append(KASAN_LINE)
        sites = {}
        if alloc:
            sites["alloc"] = self._track_site(alloc)
        if free:
            sites["free"] = self._track_site(free)
        self.emit(kind, "\n".join(lines), site, sites)

    # -- large kmallocs for kmemleak -------------------------------------------------------------
    def large_objects(self):
        """[(addr, size, alloc track)] of every live large kmalloc: kmemleak's scan (in the
        machine, after every CPU's teardown) treats them as objects like slab ones."""
        if not self.on:
            return []
        node, mm = self.pgdat, self._mm
        private = np.frombuffer(mm.private, dtype=np.uint64)
        out = []
        for head in np.nonzero(private == LARGE_KMALLOC)[0]:
            head = int(head)
            if mm.ref[head] <= 0 or self.pg_state[head] != PG_LARGE:
                continue
            out.append((node.pfn_to_virt(head), self.pg_size[head], self._track(head, ALLOC)))
        return out
