"""Correct twin of out_of_bounds: room for the terminator."""

from kernel_model.gfp import GFP_KERNEL

NAME = b"eth0-rx-queue-0042"


def process(k):
    buf = k.kmalloc(len(NAME) + 1, GFP_KERNEL)
    if buf is None:
        return
    k.write(buf, NAME + b"\0")
    k.kfree(buf)
