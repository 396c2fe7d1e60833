"""A table of 5000 bytes written at index 5040: past the size asked for, but
still inside the second mapped page (no fault: only KASAN sees it)."""


def process(k):
    v = k.vmalloc(5000)
    if v is None:
        return
    k.write(v + 4990, b"\0" * 10)
    k.write(v + 5040, b"\0")               # BUG: past the 5000 bytes asked for
    k.vfree(v)
