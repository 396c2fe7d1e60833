"""Correct twin of vmalloc_out_of_bounds: the table is sized for the index used."""


def process(k):
    v = k.vmalloc(5041)
    if v is None:
        return
    k.write(v + 4990, b"\0" * 10)
    k.write(v + 5040, b"\0")
    k.vfree(v)
