"""SLUB_DEBUG and KASAN data of slab objects: poison, red zones, tracks, state.

What ``slub_debug=PZU`` and KASAN keep per object, for every allocator
(mm/slub.c init_object / check_object / set_track, mm/kasan/ quarantine):

    init_object / check_object / check_freepointer   red zones and poison in
                        the page data, checked on every allocation and free
    set_track           who allocated / freed an object: CPU, context, seq,
                        call site, pid (struct track)
    slab_post_alloc_debug / slab_free_debug   the alloc and free hooks: object
                        state, double and invalid free detection
    object_info         everything a checker can know about an address
    quarantine_put / quarantine_flush   KASAN's per-CPU quarantine
    run_ctor            setup_object(): a constructor on a new slab's object

Functions take a ``slab_common.kmem_cache`` (``s``) or a SlabState (``st``);
this module imports neither slab_common nor an allocator (slab_common calls it).

Arena sections (only with boot(slab_debug=True)); N = nr_cpus, R = debug rows,
row = head_pfn * rows_per_page + index of the object in its slab::

    slab_obj_state    u8[R]            OBJ_FREE / OBJ_ALLOCATED / OBJ_QUARANTINED
    slab_track_seq    u64[2R]          [2*row + TRACK_ALLOC|TRACK_FREE] cpu.seq
    slab_track_site   u32[2R]          caller site id (slab_site_name), 0 none
    slab_track_where  u16[2R]          track word: (cpu + 1) << 2 | context, 0 none
                                       (track_where / track_cpu / track_context)
    slab_track_pid    u32[2R]          cpu.pid at the time
    slab_orig_size    u32[R]           size asked for (kmalloc), else object_size
    slab_site_name    u8[N * SITES * 64]  per-CPU site table ("file:line (func)")
    slab_site_count   u32[N]           sites used by each CPU (only it writes)

41 bytes a debug row.  rows_per_page = PAGE_SIZE / 32: a debug cache's object
is at least 32 bytes (SLUB adds two struct tracks of 32 bytes; the classic
SLAB model pads debug objects to 32), so an order-k slab's objects fit the
rows of its 2**k page frames, which no other slab owns.  A row is written by
the CPU that allocates or frees its object (the allocator hands an object to
one CPU at a time); a site table only by its own CPU.
"""

import os
import sys

from . import context, debug
from .page import PGTY_slab
from .slab_h import slab_state, virt_to_slab

# include/linux/poison.h
POISON_INUSE = 0x5A       # slab padding
POISON_FREE = 0x6B        # a freed object
POISON_END = 0xA5         # the last byte of a freed object
SLUB_RED_INACTIVE = 0xBB  # redzone of a free object
SLUB_RED_ACTIVE = 0xCC    # redzone of an allocated object

DEBUG_MIN_OBJECT = 32
SITES_PER_CPU = 1024
SITE_LEN = 64

OBJ_FREE, OBJ_ALLOCATED, OBJ_QUARANTINED = 0, 1, 2
OBJ_STATE_NAMES = ("free", "allocated", "quarantined")
TRACK_ALLOC, TRACK_FREE = 0, 1

# The track word: which CPU, in which context (context.CTX_*).  0 = no track.
TRACK_CPU_SHIFT = 2
TRACK_CONTEXT_MASK = (1 << TRACK_CPU_SHIFT) - 1


def track_where(cpu_id, ctx):
    """The track word of CPU ``cpu_id`` in context ``ctx``."""
    return (cpu_id + 1) << TRACK_CPU_SHIFT | ctx


def track_cpu(where):
    """The CPU of a track word (-1 for no track)."""
    return (where >> TRACK_CPU_SHIFT) - 1


def track_context(where):
    return where & TRACK_CONTEXT_MASK


def arena_sections(nr_cpus, nr_pages, page_size):
    r = nr_pages * (page_size // DEBUG_MIN_OBJECT)
    return [("slab_obj_state", "B", r), ("slab_track_seq", "Q", 2 * r),
            ("slab_track_site", "I", 2 * r), ("slab_track_where", "H", 2 * r),
            ("slab_track_pid", "I", 2 * r), ("slab_orig_size", "I", r),
            ("slab_site_name", "B", nr_cpus * SITES_PER_CPU * SITE_LEN),
            ("slab_site_count", "I", nr_cpus)]


def init(st, page_size):
    """This process's handles of the debug sections, on SlabState ``st``."""
    v = st.pgdat.arena.v
    st.rows_per_page = page_size // DEBUG_MIN_OBJECT
    st.obj_state = v["slab_obj_state"]
    st.track_seq = v["slab_track_seq"]
    st.track_site = v["slab_track_site"]
    st.track_where = v["slab_track_where"]
    st.track_pid = v["slab_track_pid"]
    st.orig_size = v["slab_orig_size"]
    st.site_name = v["slab_site_name"]
    st.site_count = v["slab_site_count"]


_MODEL_DIR = __file__.rsplit("/", 1)[0] + "/"
# Files of API wrappers around the model (the harness's ``k``): the site of an
# allocation is their caller, as the kernel's _RET_IP_ skips inline wrappers.
_SKIP = {}              # code object -> is its frame skipped (model or wrapper)?  A cache.


class _WrapperFiles(set):
    """The wrapper files; adding one forgets the cached answers."""

    def add(self, name):
        super().add(name)
        _SKIP.clear()


WRAPPER_FILES = _WrapperFiles()


def _outside(f):
    """The first frame from ``f`` outwards that is neither the model's nor a wrapper's
    (each code object is classified once: a site is looked up at every alloc and free)."""
    skip = _SKIP
    while f is not None:
        code = f.f_code
        s = skip.get(code)
        if s is None:
            name = code.co_filename
            s = skip[code] = name.startswith(_MODEL_DIR) or name in WRAPPER_FILES
        if not s:
            return f
        f = f.f_back
    return None


def caller_text():
    f = _outside(sys._getframe(1))
    if f is None:
        return "?"
    return f"{f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_lineno} ({f.f_code.co_name})"


_PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _site_path(path):
    """A track's file as reports name it: relative to the project, else to the working
    directory, else the file name."""
    if path.startswith(_PROJECT):
        path = path[len(_PROJECT):]
    else:
        try:
            cwd = os.getcwd() + os.sep
        except OSError:
            cwd = None
        path = path[len(cwd):] if cwd and path.startswith(cwd) else path.rsplit("/", 1)[-1]
    return path


def caller_site(st):
    """Site id of the first caller outside kernel_model and WRAPPER_FILES (interned
    per CPU, no lock)."""
    f = _outside(sys._getframe(1))
    if f is None:
        return 0
    key = (f.f_code, f.f_lineno)
    sid = st.site_ids.get(key)
    if sid is not None:
        return sid
    cpu = context.this_cpu.id
    n = st.site_count[cpu]
    if n + 1 >= SITES_PER_CPU:
        return 0
    n += 1
    tail = f":{f.f_lineno} ({f.f_code.co_name})"
    path = _site_path(f.f_code.co_filename)
    if len(path.encode()) + len(tail.encode()) > SITE_LEN:   # the row is short: the file name
        path = path.rsplit("/", 1)[-1]                         # and line first, the function cut
    raw = (path + tail).encode()[:SITE_LEN].ljust(SITE_LEN, b"\0")
    off = (cpu * SITES_PER_CPU + n) * SITE_LEN
    st.site_name[off:off + SITE_LEN] = raw
    st.site_count[cpu] = n
    sid = cpu * SITES_PER_CPU + n
    st.site_ids[key] = sid
    return sid


def site_name(st, sid):
    if not sid:
        return "?"
    off = sid * SITE_LEN
    return bytes(st.site_name[off:off + SITE_LEN]).rstrip(b"\0").decode()


def obj_index(s, pfn, addr):
    """(head pfn, index) of an object address in slab ``pfn``, or None if not an object start."""
    head = pfn
    start = s.page_offset + (head << s.page_shift) + s.state.allocator.slab_base(s, head)
    off = addr - start - s.red_left_pad
    if off < 0 or off % s.size:
        return None
    idx = off // s.size
    if idx >= s.objects:
        return None
    return idx


_PATTERN = {}           # (byte, n) -> bytes: poison and redzone fills, made once


def fill_bytes(s, start, n, byte):
    if n > 0:
        off = start - s.page_offset
        pat = _PATTERN.get((byte, n))
        if pat is None:
            pat = _PATTERN[(byte, n)] = bytes((byte,)) * n
        s.pgdat.data[off:off + n] = pat


def init_object(s, obj, active, orig_size=None):
    """mm/slub.c init_object(): redzones and (when free) poison in page data."""
    val = SLUB_RED_ACTIVE if active else SLUB_RED_INACTIVE
    if s.redzone:
        fill_bytes(s, obj - s.red_left_pad, s.red_left_pad, val)
        osz = s.object_size
        if active and orig_size is not None and orig_size < osz:
            fill_bytes(s, obj + orig_size, osz - orig_size, val)   # kmalloc: extend the redzone
        fill_bytes(s, obj + osz, s.inuse - osz, val)
    if s.poison and not active:
        fill_bytes(s, obj, s.object_size - 1, POISON_FREE)
        fill_bytes(s, obj + s.object_size - 1, 1, POISON_END)


def free_checks(s):
    """[(start relative to the object, expected bytes, what)] of a free object:
    check_object(s, slab, object, SLUB_RED_INACTIVE).  A poisoned object with
    red zones is one contiguous pattern (one compare at allocation)."""
    if not s.debug:
        return []
    out = []
    rz = bytes((SLUB_RED_INACTIVE,))
    osz = s.object_size
    if s.redzone and s.red_left_pad:
        out.append((-s.red_left_pad, rz * s.red_left_pad, "Left Redzone"))
    if s.poison:
        out.append((0, bytes((POISON_FREE,)) * (osz - 1) + bytes((POISON_END,)), "Poison"))
    if s.redzone and s.inuse > osz:
        out.append((osz, rz * (s.inuse - osz), "Right Redzone"))
    if s.poison and s.redzone:                 # contiguous: one compare does it
        out = [(out[0][0] if s.red_left_pad else 0, b"".join(r[1] for r in out), None)]
    return out


def _first_bad(s, start, expected):
    """(fault, end, found, wanted) of the first and last byte that differ, or None."""
    off = start - s.page_offset
    got = bytes(s.pgdat.data[off:off + len(expected)])
    if got == expected:
        return None
    i = next(i for i in range(len(got)) if got[i] != expected[i])
    j = next(j for j in range(len(got) - 1, -1, -1) if got[j] != expected[j])
    return start + i, start + j + 1, got[i], expected[i]


def _report_corrupt(s, obj, start, expected, what):
    bad = _first_bad(s, start, expected)
    if bad is None:
        return False
    fault, end, found, wanted = bad
    if what is None:                           # the merged free pattern: name the part
        rel = fault - obj
        what = ("Left Redzone" if rel < 0 else "Right Redzone" if rel >= s.object_size
                else "End Poison" if rel == s.object_size - 1 else "Poison")
    debug.hooks.slab_event("object_corrupt", cache=s.name, addr=obj, what=what, fault=fault,
                           end=end, found=found, expected=wanted)
    return True


def check_object(s, obj, active, orig_size=None):
    """mm/slub.c check_object(): red zones (and poison when free) intact?

    A damaged object is reported (``<what> overwritten`` through the
    object_corrupt slab_event) and its bytes restored, as check_bytes_and_report
    and restore_bytes do.  Returns True if the object was intact.
    """
    data = s.pgdat.data
    po = s.page_offset
    if not active:
        for rel, expected, what in s.free_checks:
            a = obj + rel - po
            if data[a:a + len(expected)] != expected:
                _report_corrupt(s, obj, obj + rel, expected, what)
                init_object(s, obj, False)
                return False
        return True
    if not s.redzone:
        return True
    ok = True
    rlp = s.red_left_pad
    o = obj - po
    if rlp and data[o - rlp:o].tobytes() != s.rz_left:
        ok = not _report_corrupt(s, obj, obj - rlp, s.rz_left, "Left Redzone")
    osz = s.object_size
    start = orig_size if s.kmalloc and orig_size is not None and orig_size < osz else osz
    n = s.inuse - start
    if ok and n > 0 and data[o + start:o + s.inuse].tobytes() != s.rz_active[:n]:
        bad = _first_bad(s, obj + start, s.rz_active[:n])
        what = "kmalloc Redzone" if bad and bad[0] < obj + osz else "Right Redzone"
        ok = not _report_corrupt(s, obj, obj + start, s.rz_active[:n], what)
    if not ok:
        init_object(s, obj, True, start if start < osz else None)
    return ok


def check_freepointer(s, head, obj, fp):
    """check_object()'s free pointer check (check_valid_pointer): the next free
    object recorded in ``obj`` must be NULL or an object of the same slab, and
    never ``obj`` itself (a freelist that loops on one object)."""
    if not fp:
        return True
    if fp == obj:
        what = "Freechain corrupt"
    else:
        first = s.page_offset + (head << s.page_shift) + s.red_left_pad
        off = fp - first
        if 0 <= off and not off % s.size and off // s.size < s.objects:
            return True
        what = "Freepointer corrupt"
    debug.hooks.slab_event("freelist_corrupt", cache=s.name, addr=obj, fp=fp, what=what)
    return False


def set_track(s, row, which, site):
    st = s.state
    cpu = context.this_cpu
    i = 2 * row + which
    st.track_seq[i] = cpu.seq
    st.track_site[i] = site
    st.track_where[i] = track_where(cpu.id, cpu.context())
    st.track_pid[i] = cpu.pid


def setup_object_debug(s, head_pfn, obj, idx):
    """A new slab's object: free state, inactive redzone, poison (new_slab)."""
    st = s.state
    row = head_pfn * st.rows_per_page + idx
    st.obj_state[row] = OBJ_FREE
    for w in (2 * row, 2 * row + 1):
        st.track_where[w] = 0
        st.track_site[w] = 0
        st.track_seq[w] = 0
    init_object(s, obj, False)


def slab_post_alloc_debug(s, pfn, obj, orig_size):
    """Record the allocation (state, alloc track, orig size) and arm the redzones."""
    st = s.state
    idx = obj_index(s, pfn, obj)
    if idx is None:
        return
    row = pfn * st.rows_per_page + idx
    if st.obj_state[row] == OBJ_ALLOCATED:
        debug.hooks.slab_event("alloc_allocated", cache=s.name, addr=obj)
    elif s.free_check1 is not None:             # check_object(SLUB_RED_INACTIVE), inlined
        rel, expected, _what = s.free_check1
        a = obj + rel - s.page_offset
        if s.pgdat.data[a:a + len(expected)] != expected:
            check_object(s, obj, False)
    elif s.free_checks:
        check_object(s, obj, False)
    st.obj_state[row] = OBJ_ALLOCATED
    st.orig_size[row] = orig_size
    cpu = context.this_cpu
    cpu.seq += 1
    set_track(s, row, TRACK_ALLOC, caller_site(st))
    init_object(s, obj, True, orig_size if s.kmalloc else None)


def slab_free_debug(s, pfn, obj, quarantine):
    """Check and record a free.  Returns False if the free must not happen.

    A free of an object that is not allocated (free or quarantined) is a
    double free; an address that is not an object start is an invalid free.
    Both are reported through hooks and the object is left alone, as SLUB's
    free_debug_processing and KASAN's kasan_slab_free do.
    """
    st = s.state
    idx = obj_index(s, pfn, obj)
    hooks = debug.hooks
    if idx is None:
        hooks.invalid_free(s.name, obj, f"{s.name}: Invalid object pointer {obj:#x}")
        return False
    row = pfn * st.rows_per_page + idx
    state = st.obj_state[row]
    if state != OBJ_ALLOCATED:
        hooks.double_free(s.name, obj, f"{s.name}: Object {obj:#x} already free "
                          f"({OBJ_STATE_NAMES[state]})")
        return False
    if s.redzone:
        check_object(s, obj, True, st.orig_size[row])   # reported and restored; still freed
    cpu = context.this_cpu
    cpu.seq += 1
    set_track(s, row, TRACK_FREE, caller_site(st))
    hooks.yield_point("access")          # the debug state was read, now written: not one step
    st.obj_state[row] = OBJ_QUARANTINED if quarantine else OBJ_FREE
    init_object(s, obj, False)
    return True


def object_info(addr, pgdat=None):
    """Everything a checker can know about an address in a slab, or None.

    {cache, object (start), offset (addr - object), index, state, object_size,
     orig_size, alloc: {cpu, context, seq, site, pid}, free: {...}}; the
    track and state fields are present only for caches with debug data.
    """
    st = slab_state(pgdat)
    node = st.pgdat
    pfn = node.virt_to_pfn(addr)
    if pfn is None:
        return None
    mm = node.mem_map
    head = pfn
    if mm.type[pfn] != PGTY_slab:
        # a tail page of a high-order slab: walk back to the head
        while head > 0 and mm.type[head] != PGTY_slab:
            head -= 1
        if mm.type[head] != PGTY_slab or head + (1 << mm.order[head]) <= pfn:
            return None
    s = st.cache_by_id(mm.slab_cache[head] - 1)
    if s is None:
        return None
    base = node.page_offset + (head << node.page_shift) + st.allocator.slab_base(s, head) \
        + s.red_left_pad
    if addr < base - s.red_left_pad:
        return {"cache": s.name, "object": None, "offset": None, "index": None}
    idx = (addr - base + s.red_left_pad) // s.size
    if idx >= s.objects:
        return {"cache": s.name, "object": None, "offset": None, "index": None}
    obj = base + idx * s.size
    info = {"cache": s.name, "object": obj, "offset": addr - obj, "index": idx,
            "object_size": s.object_size, "slab_pfn": head}
    if s.debug:
        row = head * st.rows_per_page + idx
        info["state"] = OBJ_STATE_NAMES[st.obj_state[row]]
        info["orig_size"] = st.orig_size[row]
        for which, key in ((TRACK_ALLOC, "alloc"), (TRACK_FREE, "free")):
            i = 2 * row + which
            where = st.track_where[i]
            info[key] = None if not where else {
                "cpu": track_cpu(where), "context": context.CTX_NAMES[track_context(where)],
                "seq": st.track_seq[i], "site": site_name(st, st.track_site[i]),
                "pid": st.track_pid[i]}
    return info


def quarantine_put(s, obj):
    """KASAN quarantine (per CPU, process-local FIFO): returns the objects to free now."""
    st = s.state
    q = st.quarantine
    q.append((s, obj))
    out = []
    while len(q) > st.quarantine_max:
        out.append(q.pop(0))
    return out




def quarantine_release(s, obj):
    """An object leaves the quarantine: free in the debug state; its slab's head pfn
    (the caller then gives it to the allocator's do_slab_free)."""
    st = s.state
    head = virt_to_slab(s.pgdat, obj)
    st.obj_state[head * st.rows_per_page + obj_index(s, head, obj)] = OBJ_FREE
    return head


def quarantine_flush(pgdat=None):
    """Free everything this CPU holds in quarantine (kasan_quarantine_reduce)."""
    st = slab_state(pgdat)
    keep, st.quarantine_max = st.quarantine_max, 0
    items, st.quarantine[:] = list(st.quarantine), []
    for s2, o2 in items:
        s2.state.allocator.do_slab_free(s2, quarantine_release(s2, o2), o2)
    st.quarantine_max = keep


ctor_object = None        # the object whose constructor runs now in this process (or None)


def run_ctor(ctor, obj):
    """setup_object(): run a cache's constructor on a new slab's object.  The kernel
    runs it with the object unpoisoned (kasan_unpoison_new_object), though the
    object is still free: a checker reading ``ctor_object`` lets it through."""
    global ctor_object
    ctor_object = obj
    try:
        ctor(obj)
    finally:
        ctor_object = None
