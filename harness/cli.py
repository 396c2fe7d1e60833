"""The ``mmstress`` command line.

Exit codes (every command): 0 clean, 1 violations found, 2 bad usage or a bad
scenario, 3 the harness itself failed.  Bad input is one clear message on
stderr, never a traceback.
"""

import argparse
import sys

from kernel_model import ModelError

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3


class UsageError(Exception):
    """Bad command-line input; the message is all the user sees (exit 2)."""


def cmd_demo(args):
    """Boot a model, allocate a little, print /proc/buddyinfo and /proc/zoneinfo."""
    import kernel_model as km
    with km.boot(km.MemoryLayout(args.arch, total=args.memory, page_size=args.page_size),
                 nr_cpus=1) as node:
        print(f"# booted {node.layout.describe()}: {node.nr_pages} pages, "
              f"min_free_kbytes {node.min_free_kbytes}")
        pages = [km.alloc_pages(km.GFP_KERNEL, order) for order in (0, 1, 2, 3, 5)]
        print("$ cat /proc/buddyinfo")
        print(km.procfs.buddyinfo(node), end="")
        print("$ cat /proc/zoneinfo")
        print(km.procfs.zoneinfo(node), end="")
        for order, page in zip((0, 1, 2, 3, 5), pages):
            km.__free_pages(page, order)
    return EXIT_OK


def build_parser():
    parser = argparse.ArgumentParser(prog="mmstress", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help=cmd_demo.__doc__)
    demo.add_argument("--arch", default="x86_64", choices=("x86_64", "x86_32"))
    demo.add_argument("--memory", default="1G", help="total memory, e.g. 1G, 512M")
    demo.add_argument("--page-size", type=int, default=4096, choices=(4096, 8192))
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, ModelError) as exc:
        print(f"mmstress: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mmstress: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
