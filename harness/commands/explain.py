"""``mmstress explain [KIND]``: what a violation kind means, why the kernel forbids it, how to fix it.

With a kind: the text of ``harness.checkers.kinds.explain``.  Without one:
every kind with its kernel report header, grouped by family.  An unknown kind
is a usage error (exit 2) that suggests the closest names.
"""

import difflib

from harness.exits import EXIT_OK, UsageError

HELP = "what a violation kind means and how to fix it"


FAMILY_TITLES = {"context": "GFP and context", "gfp": "GFP masks", "memory": "frees and memory",
                 "locks": "locks (lockdep)", "percpu": "per-CPU paths", "races": "data races (KCSAN)",
                 "numa": "NUMA locality (a lint, off by default)",
                 "invariants": "model invariants", "harness": "the run itself"}


def listing():
    from harness.checkers.kinds import KINDS
    families = {}
    for k in KINDS.values():
        families.setdefault(k.family, []).append(k)
    width = max(len(n) for n in KINDS)
    out = []
    for fam, kinds in families.items():
        out.append(f"{FAMILY_TITLES.get(fam, fam)}:")
        out += [f"  {k.name:<{width}}  {k.header}" for k in kinds]
        out.append("")
    out.append("mmstress explain KIND  prints what it means, why the kernel forbids it and how to fix it")
    return "\n".join(out)


def arguments(p):
    p.add_argument("kind", nargs="?", help="a violation kind (as in reports); none: list them all")


def main(args):
    from harness.checkers.kinds import KINDS, explain
    if args.kind is None:
        print(listing())
        return EXIT_OK
    name = args.kind.strip().lower().replace("_", "-")
    if name not in KINDS:
        close = difflib.get_close_matches(name, KINDS, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise UsageError(f"explain: no violation kind {args.kind!r}{hint} "
                             "(`mmstress explain` lists them all)")
    print(explain(name), end="")
    return EXIT_OK

