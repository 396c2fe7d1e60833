"""``mmstress demo``: boot a model, allocate a little, print /proc/buddyinfo, /proc/zoneinfo and /proc/vmstat."""

from harness.exits import EXIT_OK, UsageError

HELP = "boot a model, allocate a little, print /proc/buddyinfo, /proc/zoneinfo and /proc/vmstat"


def arguments(p):
    p.add_argument("--arch", default="x86_64", choices=("x86_64", "x86_32"),
                   help="x86_64 (zones DMA, DMA32, Normal, Movable; the default) or x86_32 "
                   "(DMA, Normal, HighMem, Movable)")
    p.add_argument("--memory", default="1G", help="total memory, e.g. 1G, 512M")
    p.add_argument("--page-size", type=int, default=4096, choices=(4096, 8192))


def main(args):
    import kernel_model as km
    try:
        layout = km.MemoryLayout(args.arch, total=args.memory, page_size=args.page_size)
    except km.ModelError as exc:
        raise UsageError(f"--memory {args.memory}: {exc}") from None
    with km.boot(layout, nr_cpus=1) as node:
        print(f"# booted {node.layout.describe()}: {node.nr_pages} pages, "
              f"min_free_kbytes {node.min_free_kbytes}")
        orders = (0, 1, 2, 3, 5)
        pages = [km.alloc_pages(km.GFP_KERNEL, order) for order in orders]
        print("$ cat /proc/buddyinfo")
        print(km.procfs.buddyinfo(node), end="")
        print("$ cat /proc/zoneinfo")
        print(km.procfs.zoneinfo(node), end="")
        print("$ cat /proc/vmstat")
        print(km.procfs.vmstat(node), end="")
        for order, page in zip(orders, pages):
            km.__free_pages(page, order)
    return EXIT_OK
