"""A loop over a one-page vmalloc buffer that runs one page too far: the write
lands in the unmapped guard page (a page fault in the kernel)."""


def process(k):
    ps = 4096
    v = k.vmalloc(ps)
    if v is None:
        return
    for off in (0, ps // 2, ps):          # BUG: ps is the guard page
        k.write(v + off, b"\x55" * 8)
    k.vfree(v)
