"""An off-by-one: a string and its NUL terminator copied into a buffer sized
for the string alone."""

from kernel_model.gfp import GFP_KERNEL

NAME = b"eth0-rx-queue-0042"


def process(k):
    buf = k.kmalloc(len(NAME), GFP_KERNEL)
    if buf is None:
        return
    k.write(buf, NAME + b"\0")           # BUG: one byte past the allocation
    k.kfree(buf)
