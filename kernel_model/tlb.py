"""A per-CPU TLB: what a kernel virtual address costs to translate, and why kernel
code prefers kmalloc to vmalloc.

The kernel maps all of low memory once, with large pages (x86_64: 2 MiB
PMD mappings of the direct map; x86_32 without PAE: 4 MiB PSE pages), so a
kmalloc or page allocator buffer is covered by one or two TLB entries.  A
vmalloc area is mapped page by page (4 KiB PTEs), so the same buffer needs
one entry per page and a walk through it misses the TLB again and again.
And freeing vmalloc space needs a TLB flush on every CPU: vfree clears the
page tables without flushing (the range stays reserved, "lazy", so stale
entries for it harm no one), and when enough has piled up
__purge_vmap_area_lazy calls flush_tlb_kernel_range over all of it
(mm/vmalloc.c, Linux 6.x), which x86 turns into a full flush of every CPU's
TLB once the range is more than tlb_single_page_flush_ceiling (33) pages
(arch/x86/mm/tlb.c) -- taking the direct map's entries with it.

The model: each CPU process owns one ``TLB`` (nothing shared): two
fully associative LRU arrays, ``entries`` for base pages (vmalloc) and
``large_entries`` for the direct map's large pages, filled by every
translation k.read / k.write / k.memset / marked accesses make (a page the
access touches that is not cached is a miss, then cached; one that is, a
hit).  Defaults per architecture (``ARCH_DEFAULTS``) are a Skylake-class
L1 dTLB: 64 entries for 4 KiB pages, 32 for 2M/4M pages; the second-level
STLB is not modelled.

Flushes cross CPUs through one shared word, as x86 tracks them with TLB
generations (arch/x86/mm/tlb.c flush_tlb_func: one generation behind, flush
the range; further behind, flush everything).  flush_tlb_kernel_range
publishes a new generation and the range; each CPU compares the generation
with the one it last saw on its next translation and flushes then (the
kernel's IPI would flush at once; no translation happens in between, so no
access sees the difference).

Arena sections (only in a model booted with ``tlb=True``; N = nr_cpus)::

    tlb_flush   u64[4]        0 seq: 2 * generation, odd while a writer
                              publishes; 1 start, 2 end of that generation's
                              range (end 0: flush everything)
    tlb_stat    u64[N * 5]    per CPU: hits, misses, flushes, misses on base
                              pages, misses on large pages (written by that
                              CPU only)

Writers of ``tlb_flush`` are serialised by the caller (vmalloc's purge holds
vmap_area_lock); readers retry nothing: a torn or skipped generation makes
the reader flush everything, which is always correct.
"""

from dataclasses import dataclass

from .errors import ConfigError
from .layout import parse_size

TLB_SINGLE_PAGE_FLUSH_CEILING = 33          # arch/x86/mm/tlb.c tlb_single_page_flush_ceiling
STAT_NAMES = ("hits", "misses", "flushes", "small_misses", "large_misses")
HITS, MISSES, FLUSHES, SMALL_MISSES, LARGE_MISSES = range(5)
NR_STAT = len(STAT_NAMES)


@dataclass(frozen=True)
class TlbConfig:
    entries: int                  # base-page (vmalloc) entries
    large_entries: int            # large-page (direct map) entries
    large_page: int               # bytes of a direct-map page


ARCH_DEFAULTS = {
    "x86_64": TlbConfig(entries=64, large_entries=32, large_page=2 << 20),
    "x86_32": TlbConfig(entries=64, large_entries=32, large_page=4 << 20),
}
MAX_ENTRIES = 1 << 16


def tlb_config(arch, page_size, entries=None, large_entries=None, large_page=None):
    """The TLB of ``arch`` with any of its numbers replaced; ConfigError naming the
    bad one (``large_page`` may be a size string such as "2M")."""
    base = ARCH_DEFAULTS.get(arch)
    if base is None:
        raise ConfigError(f"tlb: no TLB defaults for arch {arch!r}; one of "
                          f"{', '.join(ARCH_DEFAULTS)}")
    out = {}
    for name, value, default in (("entries", entries, base.entries),
                                 ("large_entries", large_entries, base.large_entries)):
        value = default if value is None else value
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ENTRIES:
            raise ConfigError(f"tlb {name}: {value!r} is not an integer from 1 to {MAX_ENTRIES}")
        out[name] = value
    lp = base.large_page if large_page is None else large_page
    try:
        lp = parse_size(lp)
    except (ConfigError, ValueError, TypeError):
        raise ConfigError(f"tlb large_page: {large_page!r} is not a size like \"2M\"") from None
    if lp < page_size or lp & (lp - 1):
        raise ConfigError(f"tlb large_page: {large_page!r} must be a power of two of at least "
                          f"the page size ({page_size})")
    return TlbConfig(out["entries"], out["large_entries"], lp)


def arena_sections(nr_cpus):
    return [("tlb_flush", "Q", 4), ("tlb_stat", "Q", nr_cpus * NR_STAT)]


def flush_tlb_kernel_range(pgdat, start, end):
    """Flush [start, end) from every CPU's TLB (on each CPU's next translation).
    More than TLB_SINGLE_PAGE_FLUSH_CEILING pages flush everything, as x86 does.
    The caller serialises writers.  No-op in a model without a TLB."""
    f = getattr(pgdat, "tlb_flush", None)
    if f is None:
        return
    if end - start > TLB_SINGLE_PAGE_FLUSH_CEILING << pgdat.page_shift:
        start = end = 0
    seq = f[0]
    f[0] = seq + 1                   # odd: being published
    f[1], f[2] = start, end
    f[0] = seq + 2


def flush_tlb_all(pgdat):
    flush_tlb_kernel_range(pgdat, 0, 0)


class TLB:
    """One CPU's TLB, in that CPU's process."""

    def __init__(self, pgdat, cpu, config):
        self.pgdat = pgdat
        self.config = config
        self.flush = pgdat.tlb_flush
        if self.flush is None:
            raise ConfigError("a TLB needs a model booted with tlb=True")
        self.stat = pgdat.arena.v["tlb_stat"]
        self.base = cpu * NR_STAT
        self.seen = self.flush[0] & ~1
        # vpn -> True, in LRU order (oldest first).  A hardirq handler may translate in
        # the middle of a translation (a signal runs between two bytecodes): every
        # step below is one dict operation, so a nested one leaves the dicts whole.
        self.small = {}
        self.large = {}
        self.small_shift = pgdat.page_shift
        self.large_shift = config.large_page.bit_length() - 1
        vm = getattr(pgdat, "vmalloc", None)
        self.vm_start, self.vm_end = (vm.start, vm.end) if vm is not None else (0, 0)

    def translate(self, addr, n):
        """The translations an access of ``n`` bytes at ``addr`` needs."""
        seq = self.flush[0]
        if seq != self.seen:
            self._catch_up(seq)
        if self.vm_start <= addr < self.vm_end:
            tlb, shift, cap, kind = self.small, self.small_shift, self.config.entries, SMALL_MISSES
        else:
            tlb, shift, cap, kind = (self.large, self.large_shift, self.config.large_entries,
                                     LARGE_MISSES)
        stat, b = self.stat, self.base
        for vpn in range(addr >> shift, ((addr + max(n, 1) - 1) >> shift) + 1):
            if tlb.pop(vpn, False):          # cached: now the most recently used
                tlb[vpn] = True
                stat[b + HITS] += 1
                continue
            stat[b + MISSES] += 1
            stat[b + kind] += 1
            if len(tlb) >= cap:              # evict the least recently used
                try:
                    tlb.pop(next(iter(tlb), None), None)
                except RuntimeError:         # a nested translation changed it meanwhile
                    pass
            tlb[vpn] = True

    def _catch_up(self, seq):
        """Apply the flushes published since the last translation."""
        f = self.flush
        start, end = f[1], f[2]
        whole = seq & 1 or seq != self.seen + 2 or f[0] != seq or not end
        if whole:
            self.small.clear()
            self.large.clear()
        else:
            for tlb, shift in ((self.small, self.small_shift), (self.large, self.large_shift)):
                lo, hi = start >> shift, (end - 1) >> shift
                for vpn in [v for v in list(tlb) if lo <= v <= hi]:
                    tlb.pop(vpn, None)
        self.stat[self.base + FLUSHES] += 1
        self.seen = seq & ~1


def snapshot(pgdat):
    """{"by_cpu": [{cpu, hits, misses, flushes, small_misses, large_misses}], totals},
    or None in a model without a TLB."""
    if getattr(pgdat, "tlb_flush", None) is None:
        return None
    stat = pgdat.arena.v["tlb_stat"]
    rows = [{"cpu": c, **{name: int(stat[c * NR_STAT + i]) for i, name in enumerate(STAT_NAMES)}}
            for c in range(pgdat.nr_cpus)]
    return {**{name: sum(r[name] for r in rows) for name in STAT_NAMES}, "by_cpu": rows}
