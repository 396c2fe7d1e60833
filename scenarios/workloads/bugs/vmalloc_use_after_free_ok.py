"""Correct twin of vmalloc_use_after_free: read, then vfree()."""


def process(k):
    log = k.vmalloc(3 * 4096)
    if log is None:
        return
    k.write(log + 4096, b"entry")
    k.read(log + 4096, 5)
    k.vfree(log)
