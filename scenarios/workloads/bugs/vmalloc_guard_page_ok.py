"""Correct twin of vmalloc_guard_page: the loop stops inside the buffer."""


def process(k):
    ps = 4096
    v = k.vmalloc(ps)
    if v is None:
        return
    for off in (0, ps // 2, ps - 8):
        k.write(v + off, b"\x55" * 8)
    k.vfree(v)
