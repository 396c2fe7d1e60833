"""Correct twin of double_free_cross_cpu: after k.send the object is CPU 1's to free."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    if k.cpu == 0:
        obj = k.kmalloc(96, GFP_KERNEL)
        if obj is None:
            return
        k.write(obj, b"job")
        if not k.send(1, obj):
            k.kfree(obj)                  # mailbox full: still ours
    else:
        while (obj := k.recv()) is not None:
            k.kfree(obj)


def teardown(k):
    while (obj := k.recv()) is not None:
        k.kfree(obj)
