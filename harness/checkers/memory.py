"""Frees and memory: KASAN, SLUB_DEBUG and bad-page reports, in the kernel's words.

What reports what (the model detects, this checker words it and adds the
object's history from the slab debug data -- ``slab_common.object_info``):

    model hook                     kind              report (as the kernel prints it)
    double_free                    double-free       BUG: KASAN: double-free in kfree
      (debug state not allocated,
       or SLUB's set_freepointer
       head check)
    invalid_free                   invalid-free      BUG: KASAN: invalid-free in kfree
    slab_event wrong_cache         wrong-cache       kmem_cache_free: Wrong slab cache. A but object is from B
    memory_access (k.read/write)   use-after-free    BUG: KASAN: slab-use-after-free in F
                                   out-of-bounds     BUG: KASAN: slab-out-of-bounds in F
    slab_event object_corrupt      use-after-free    BUG kmalloc-64 (Not tainted): Poison overwritten
                                   out-of-bounds     BUG kmalloc-64 (Not tainted): Right Redzone overwritten
    slab_event alloc_allocated,    freelist-corrupt  BUG kmalloc-64 (Not tainted): Freechain corrupt /
      freelist_corrupt                               Freepointer corrupt
    slab_event cache_destroy_busy  cache-destroy-live BUG C (Not tainted): Objects remaining in C on
                                                     __kmem_cache_shutdown()
    vfree_bad                      bad-vfree         Trying to vfree() bad address / nonexistent vm area
    bad_page, page_free            bad-page          BUG: Bad page state in process P  pfn:%05lx
      (wrong order: the order the
       page was allocated with is
       in struct page)

Every slab report ends with the object's sites: ``Allocated by task PID on
cpu N (CONTEXT context, op SEQ):`` and ``Freed by ...`` with the workload
function's file:line, and the violation's ``sites`` carry the same.

Cost: none of these hooks runs on a correct allocation or free (the model
checks its debug state itself); ``page_free`` runs on every page free (one
array read) and ``memory_access`` on every k.read/k.write (index arithmetic,
no dict), the rest only on a bug.  Leaks at the end are ``kmemleak.py``.
"""

import sys

import numpy as np

from kernel_model import context
from kernel_model import slab_common as sc, slab_debug
from kernel_model.page import PGTY_slab

from harness.runtime import workload_api
from .base import Checker, Violation
from .kinds import KINDS

# The k API is a wrapper: alloc/free tracks record the workload line calling it.
sc.WRAPPER_FILES.add(workload_api.__file__)

KASAN_LINE = "=" * 66
SLUB_LINE = "=" * 77
SLUB_DASH = "-" * 77
_SKIP = ("/kernel_model/", "/harness/checkers/", "/harness/runtime/workload_api.py")
_API = ("kfree", "kmem_cache_free", "krealloc", "kvfree", "vfree", "free_pages", "__free_pages",
        "kmalloc", "kzalloc", "kmem_cache_alloc", "kmem_cache_destroy", "ksize")


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
            return api, f"{fname}:{f.f_lineno} ({f.f_code.co_name})", f.f_code.co_name
        f = f.f_back
    return api, "?", "?"


def track_lines(label, t):
    """``Allocated by task 1234 on cpu 0 (process context, op 57):`` + the site line."""
    if not t:
        return [f"{label}: no record (the object was never {label.lower()})"]
    return [f"{label} by task {t['pid']} on cpu {t['cpu']} ({t['context']} context, op {t['seq']}):",
            f" {t['site']}"]


def track_site(t):
    if not t:
        return ""
    return f"CPU {t['cpu']} {t['context']} op {t['seq']} {t['site']}"


def history(info):
    """(lines, sites) of an object's alloc and free tracks."""
    if not info or info.get("object") is None:
        return [], {}
    lines, sites = [], {}
    if "alloc" in info:
        lines += track_lines("Allocated", info["alloc"]) + [""]
        if info["alloc"]:
            sites["alloc"] = track_site(info["alloc"])
        if info.get("free"):
            lines += track_lines("Freed", info["free"]) + [""]
            sites["free"] = track_site(info["free"])
    return lines, sites


def describe_object(addr, info, region_state=""):
    """KASAN's describe_object_addr(): where the address is relative to the object."""
    obj = info["object"]
    size = info.get("orig_size") or info["object_size"]
    if addr < obj:
        rel, how = obj - addr, "to the left"
    elif addr >= obj + size:
        rel, how = addr - (obj + size), "to the right"
    else:
        rel, how = addr - obj, "inside"
    return [f"The buggy address belongs to the object at {obj:#x}",
            f" which belongs to the cache {info['cache']} of size {info['object_size']}",
            f"The buggy address is located {rel} bytes {how} of",
            f" {region_state}{size}-byte region [{obj:#x}, {obj + size:#x})"]


class MemoryChecker(Checker):
    name = "memory"

    def __init__(self, sink=None, pgdat=None):
        super().__init__(sink, pgdat)
        self._mm = pgdat.mem_map if pgdat is not None else None

    # -- reporting --------------------------------------------------------------------
    def emit(self, kind, text, site=None, sites=None):
        """As Checker.emit, with the title taken from the first line that is not a
        ruler (the kernel frames KASAN and SLUB reports in ===== lines)."""
        assert kind in KINDS, kind
        cpu = context.this_cpu
        lines = text.splitlines()
        title = next((ln for ln in lines if ln.strip(" =-")), lines[0])
        full = f"{text}\n\nWhat to do: {KINDS[kind].fix}\n(mmstress explain {kind})"
        v = Violation(kind=kind, title=title, text=full, cpu=cpu.id,
                      context=context.CTX_NAMES[cpu.context()], seq=cpu.seq,
                      site=site if site is not None else where()[1], sites=sites or {})
        return self.sink.add(v)

    def _task(self):
        cpu = context.this_cpu
        return f"{cpu.comm}/{cpu.pid}"

    def _info(self, addr):
        try:
            return sc.object_info(addr, self.pgdat)
        except Exception:  # noqa: BLE001 - no slab layer: page-level reports only
            return None

    def _kasan_free_report(self, bug, addr, model_text):
        api, site, _ = where()
        info = self._info(addr)
        lines = [KASAN_LINE, f"BUG: KASAN: {bug} in {api or 'kfree'}",
                 f"Free of addr {addr:#x} by task {self._task()} on cpu {context.this_cpu.id} "
                 f"({context.CTX_NAMES[context.this_cpu.context()]} context)", ""]
        hist, sites = history(info)
        lines += hist
        if info and info.get("object") is not None:
            lines += describe_object(addr, info)
            free = info.get("free")
            if bug == "double-free" and free and free["cpu"] != context.this_cpu.id:
                lines += ["", f"The first free ran on CPU {free['cpu']}, this one on CPU "
                              f"{context.this_cpu.id}: two CPUs freed the object (check the "
                              "ownership hand-off)."]
        elif info:
            lines += [f"The buggy address is in a slab of {info['cache']} but not in any object"]
        else:
            lines += [f"The buggy address {addr:#x} does not belong to any slab object"]
        lines += [KASAN_LINE, model_text]
        return "\n".join(lines), site, sites

    # -- frees --------------------------------------------------------------------------
    def double_free(self, cache_name, addr, text):
        report, site, sites = self._kasan_free_report("double-free", addr, text)
        self.emit("double-free", report, site, sites)

    def invalid_free(self, cache_name, addr, text):
        report, site, sites = self._kasan_free_report("invalid-free", addr, text)
        self.emit("invalid-free", report, site, sites)

    def vfree_bad(self, addr, text):
        api, site, _ = where()
        cpu = context.this_cpu
        lines = [text, f"WARNING: CPU: {cpu.id} PID: {cpu.pid} at mm/vmalloc.c:vfree",
                 f"Call trace: vfree <- {site}"]
        info = self._info(addr)
        hist, sites = history(info)
        if info and info.get("object") is not None:
            lines += ["", f"{addr:#x} is an object of the slab cache {info['cache']}: free it "
                          "with kfree() (kvfree() frees both kinds)", ""] + hist
        self.emit("bad-vfree", "\n".join(lines), site, sites)

    # -- slab events ----------------------------------------------------------------------
    def slab_event(self, event, **info):
        handler = getattr(self, "_ev_" + event, None)
        if handler is not None:
            handler(**info)

    def _slub_report(self, kind, cache, what, addr, body):
        info = self._info(addr)
        hist, sites = history(info)
        lines = [SLUB_LINE, f"BUG {cache} (Not tainted): {what}", SLUB_DASH, ""] + body + hist
        if info and info.get("slab_pfn") is not None:
            node = self.pgdat
            mm = node.mem_map
            head = info["slab_pfn"]
            co = mm.slab_counters[head]
            slab_addr = node.page_offset + (head << node.page_shift)
            lines += [f"Slab {slab_addr:#x} objects={sc.slab_objects(co)} used={sc.slab_inuse(co)} "
                      f"fp={mm.slab_freelist[head]:#x}",
                      f"Object {info['object']:#x} @offset={info['object'] - slab_addr}"]
        self.emit(kind, "\n".join(lines), where()[1], sites)

    def _ev_object_corrupt(self, cache, addr, what, fault, end, found, expected):
        kind = "use-after-free" if "Poison" in what else "out-of-bounds"
        when = ("allocated again: the write came after the object was freed"
                if kind == "use-after-free" or expected == sc.SLUB_RED_INACTIVE
                else "freed: the write went past the object while it was allocated")
        body = [f"{fault:#x}-{end - 1:#x} @offset={fault - addr}. First byte {found:#x} instead of "
                f"{expected:#x}",
                f"(found by SLUB_DEBUG's check_object when the object was {when})", ""]
        self._slub_report(kind, cache, f"{what} overwritten", addr, body)
        # restore_bytes() already put the pattern back, as the kernel does:
        # FIX <cache>: Restoring <what> <range>=<value>

    def _ev_alloc_allocated(self, cache, addr):
        body = [f"Object {addr:#x} was handed out while its debug state says it is allocated:",
                "it was on a freelist twice -- a double free that raced past the free checks "
                "(two CPUs, or an interrupt on this CPU), or a per-CPU freelist update lost to "
                "an interrupt between its compare and its swap.", ""]
        self._slub_report("freelist-corrupt", cache, "Freechain corrupt", addr, body)

    def _ev_freelist_corrupt(self, cache, addr, fp, what):
        body = [f"Object {addr:#x} fp={fp:#x}: "
                + ("the free pointer points at the object itself (a freelist loop: the object "
                   "was freed twice in a row)" if fp == addr else
                   "the free pointer is not an object of this slab"), ""]
        self._slub_report("freelist-corrupt", cache, what, addr, body)

    def _ev_wrong_cache(self, cache, addr, real):
        api, site, _ = where()
        cpu = context.this_cpu
        info = self._info(addr)
        hist, sites = history(info)
        lines = [f"kmem_cache_free: Wrong slab cache. {cache} but object is from {real}",
                 f"WARNING: CPU: {cpu.id} PID: {cpu.pid} at mm/slab.h:cache_from_obj",
                 f"Call trace: kmem_cache_free <- {site}", ""] + hist
        self.emit("wrong-cache", "\n".join(lines), site, sites)

    def _ev_cache_destroy_busy(self, cache, remaining):
        api, site, _ = where()
        lines = [SLUB_LINE, f"BUG {cache} (Not tainted): Objects remaining in {cache} on "
                 "__kmem_cache_shutdown()", SLUB_DASH, ""]
        sites = {}
        for obj, info in self._live_objects(cache, 8):
            lines.append(f"Object {obj:#x} @offset={obj - (obj & ~(self.pgdat.page_size - 1))}")
            hist, s = history(info)
            lines += hist
            sites.setdefault("alloc", s.get("alloc", ""))
        lines += [f"{remaining} object(s) still allocated",
                  f"kmem_cache_destroy {cache}: Slab cache still has objects when called from "
                  f"{site}"]
        self.emit("cache-destroy-live", "\n".join(lines), site, sites)

    def _live_objects(self, cache_name, limit):
        """[(addr, object_info)] of allocated objects of a cache (at most ``limit``)."""
        out = []
        try:
            s = sc.find_cache(cache_name, self.pgdat)
        except Exception:  # noqa: BLE001
            return out
        if s is None or not s.debug:
            return out
        node, st = self.pgdat, s.state
        mm = node.mem_map
        heads = np.nonzero((np.frombuffer(mm.type, dtype=np.uint8) == PGTY_slab)
                           & (np.frombuffer(mm.slab_cache, dtype=np.dtype(mm.slab_cache.format))
                              == s.cache_ref))[0]
        for head in heads:
            head = int(head)
            base = (node.page_offset + (head << node.page_shift)
                    + st.allocator.slab_base(s, head) + s.red_left_pad)
            objects = sc.slab_objects(mm.slab_counters[head])
            for idx in range(objects):
                if st.obj_state[head * st.rows_per_page + idx] == sc.OBJ_ALLOCATED:
                    obj = base + idx * s.size
                    out.append((obj, sc.object_info(obj, node)))
                    if len(out) >= limit:
                        return out
        return out

    # -- KASAN: k.read / k.write -------------------------------------------------------------
    def memory_access(self, addr, size, write):
        node = self.pgdat
        if node is None or getattr(node, "slab", None) is None:
            return
        head = sc.virt_to_slab(node, addr)
        if head is None:
            return                              # page allocator or vmalloc memory
        st = node.slab
        s = sc.cache_by_id(st, node.mem_map.slab_cache[head] - 1)
        if s is None:
            return
        base = node.page_offset + (head << node.page_shift) + st.allocator.slab_base(s, head)
        rel = addr - base
        idx = rel // s.size
        if rel < 0 or idx >= s.objects:
            self._bad_access("slab-out-of-bounds", addr, size, write)
            return
        obj = base + idx * s.size + s.red_left_pad
        alloc_size = s.object_size
        slot = base + idx * s.size
        ctor_object = slab_debug.ctor_object
        if ctor_object is not None and slot <= ctor_object < slot + s.size \
                and obj <= addr and addr + size <= obj + s.object_size:
            return                              # the constructor writes its own new object
        if s.debug:
            row = head * st.rows_per_page + idx
            if st.obj_state[row] != sc.OBJ_ALLOCATED:
                self._bad_access("slab-use-after-free", addr, size, write)
                return
            if s.kmalloc:
                alloc_size = st.orig_size[row]
        if addr < obj or addr + size > obj + alloc_size:
            self._bad_access("slab-out-of-bounds", addr, size, write)

    def _bad_access(self, bug, addr, size, write):
        api, site, func = where()
        info = self._info(addr)
        first = addr
        if bug == "slab-out-of-bounds" and info and info.get("object") is not None:
            end = info["object"] + (info.get("orig_size") or info["object_size"])
            first = addr if addr < info["object"] else max(addr, end)
        lines = [KASAN_LINE, f"BUG: KASAN: {bug} in {func}",
                 f"{'Write' if write else 'Read'} of size {size} at addr {first:#x} by task "
                 f"{self._task()} on cpu {context.this_cpu.id} "
                 f"({context.CTX_NAMES[context.this_cpu.context()]} context)", "",
                 f"Call trace: {'k.write' if write else 'k.read'} <- {site}", ""]
        hist, sites = history(info)
        lines += hist
        if info and info.get("object") is not None:
            state = "freed " if bug == "slab-use-after-free" else "allocated "
            lines += describe_object(first, info, state)
        elif info:
            lines += [f"The buggy address is in a slab of {info['cache']} outside every object"]
        lines.append(KASAN_LINE)
        kind = "use-after-free" if bug == "slab-use-after-free" else "out-of-bounds"
        self.emit(kind, "\n".join(lines), site, sites)

    # -- pages ---------------------------------------------------------------------------------
    def page_free(self, pfn, order):
        mm = self._mm
        if mm is not None and mm.order[pfn] != order:
            self._bad_page(pfn, f"freed with order {order} but allocated with order "
                                f"{mm.order[pfn]} (free_pages/__free_pages must get the order "
                                "of the allocation)", "bad-page")

    def bad_page(self, pfn, reason):
        kind = "double-free" if "double free" in reason else "bad-page"
        self._bad_page(pfn, reason, kind)

    def _bad_page(self, pfn, reason, kind):
        cpu = context.this_cpu
        node = self.pgdat
        extra = ""
        if node is not None and 0 <= pfn < node.nr_pages:
            mm = node.mem_map
            extra = (f"\npage: refcount:{mm.ref[pfn]} mapcount:0 mapping:{mm.mapping[pfn]:016x} "
                     f"index:0x0 pfn:{pfn:#x}\nflags: {mm.flags[pfn]:#x}")
        api, site, _ = where()
        head = ("BUG: KASAN: double-free in __free_pages" if kind == "double-free"
                else f"BUG: Bad page state in process {cpu.comm}  pfn:{max(pfn, 0):05x}")
        self.emit(kind, f"{head}{extra}\npage dumped because: {reason}\nCall trace: "
                        f"{api or '__free_pages'} <- {site}", site)
