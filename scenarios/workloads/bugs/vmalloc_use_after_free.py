"""A vmalloc'ed log read after vfree() (the reader kept the address)."""


def process(k):
    log = k.vmalloc(3 * 4096)
    if log is None:
        return
    k.write(log + 4096, b"entry")
    k.vfree(log)
    k.read(log + 4096, 5)                  # BUG: the area was freed
