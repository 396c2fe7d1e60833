"""Two CPUs race to free one object: CPU 0 hands it to CPU 1 through the mailbox
(k.send) and then frees it as well; CPU 1 frees what it receives (k.recv)."""

from kernel_model.gfp import GFP_KERNEL


def process(k):
    if k.cpu == 0:
        obj = k.kmalloc(96, GFP_KERNEL)
        if obj is None:
            return
        k.write(obj, b"job")
        if k.send(1, obj):
            k.kfree(obj)                  # BUG: ownership went to CPU 1 with the send
        else:
            k.kfree(obj)                  # mailbox full: still ours
    else:
        while (obj := k.recv()) is not None:
            k.kfree(obj)


def teardown(k):
    while (obj := k.recv()) is not None:
        k.kfree(obj)
