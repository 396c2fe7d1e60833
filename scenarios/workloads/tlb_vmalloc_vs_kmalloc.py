"""tlb_vmalloc_vs_kmalloc: the same buffer, the same walk, two mappings -- why kernel
code prefers kmalloc ("vmalloc can thrash the TLB because it must map individual pages").

Even CPUs take their buffer from kmalloc, odd CPUs from vmalloc, SIZE bytes
each.  A kmalloc of SIZE is a page-allocator block in the direct map, which
the kernel maps with large pages (2 MiB on x86_64): one or two TLB entries
cover it.  The vmalloc area is mapped page by page: SIZE / 4 KiB entries,
twice the 64 a Skylake-class L1 dTLB holds (kernel_model/tlb.py).

Each process iteration allocates a buffer, walks it -- WALK 8-byte writes,
each read back, at the offsets of one fixed scrambled walk over its pages
(``offsets``: the same on every CPU, no randomness) -- and frees it.  The
vfrees are lazy: once enough vmalloc space is waiting, the purge flushes
every CPU's TLB, the kmalloc CPUs' included.  The run summary's ``tlb:``
lines show the vmalloc CPUs' misses far above the kmalloc CPUs'.
"""

from .common import PatternMismatch

PAGE = 4096
SIZE = 128 * PAGE
WALK = 256


def offsets():
    """A walk over every page of the buffer in a scrambled order (97 is prime to
    128: each page once a pass), at a different cache line each time."""
    pages = SIZE // PAGE
    return [((i * 97) % pages) * PAGE + (i * 64) % PAGE for i in range(WALK)]


OFFSETS = offsets()


def _alloc(k):
    if k.cpu % 2:
        return k.vmalloc(SIZE), k.vfree
    return k.kmalloc(SIZE, "GFP_KERNEL"), k.kfree


def process(k):
    buf, free = _alloc(k)
    if buf is None:
        return
    for i, off in enumerate(OFFSETS):
        word = ((k.cpu << 32) | i).to_bytes(8, "little")
        k.write(buf + off, word)
        if k.read(buf + off, 8) != word:
            raise PatternMismatch(f"buffer {buf:#x}+{off:#x} lost its word (CPU {k.cpu})")
    free(buf)
