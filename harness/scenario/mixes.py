"""Op mixes: a ``[process]`` / ``[hardirq]`` / ``[softirq]`` / ``[tasklet]`` table -> ``MixConfig``.

Each ``ops`` entry becomes a ``harness.runtime.opmix.OpSpec`` (op, size or
order range and its distribution, GFP mask, weight, cache); a
``kmem_cache_alloc`` entry names a cache, created once per (name, size)
before the CPUs start (``Scenario.caches``).
"""

import os

import kernel_model as km
from kernel_model import ModelError

from harness.runtime import opmix
from harness.scenario.spec import MixConfig
from harness.scenario.lines import line_of
from harness.scenario.units import parse_range


def mix_section(v, sc, table, ctx):
    path = (ctx,)
    if not isinstance(table, dict):
        v.fail(path, f"a table expected, got {type(table).__name__}")
    v.keys(table, path, ("ops", "max_held", "free", "remote_free"))
    ops = v.typed(table, path, "ops", (list,), "a list of op tables", None)
    if not ops:
        v.fail(path + ("ops",), "at least one op is required, e.g. ops = [{ op = \"alloc_pages\" }]")
    specs = []
    default_gfp = "GFP_KERNEL" if ctx == "process" else "GFP_ATOMIC"
    for i, entry in enumerate(ops):
        p = path + ("ops", i)
        if not isinstance(entry, dict):
            v.fail(p, f"an op table like {{ op = \"kmalloc\", size = 64 }} expected, got {entry!r}")
        v.keys(entry, p, ("op", "weight", "gfp", "size", "order", "dist", "cache"))
        op = v.typed(entry, p, "op", (str,), "an op name", None)
        op = opmix.ALIASES.get(op, op)
        if op not in opmix.OPS:
            v.fail(p + ("op",), f"{op!r} is not an op; allowed: {', '.join(opmix.OPS)}")
        _kind, sized, _ = opmix.OPS[op]
        weight = v.number(entry, p, "weight", 1e-9, 1e9, 1.0)
        gfp_text = v.typed(entry, p, "gfp", (str,), "a GFP mask like \"GFP_ATOMIC|__GFP_ZERO\"",
                           default_gfp)
        try:
            gfp = km.parse_gfp(gfp_text)
        except ModelError as exc:
            v.fail(p + ("gfp",), str(exc))
        dist = v.choice(entry, p, "dist", ("log", "uniform"), "log")
        bad = "order" if sized else "size"
        if bad in entry:
            v.fail(p + (bad,), f"{op} takes {'size' if sized else 'order'}, not {bad}")
        key = "size" if sized else "order"
        lo_max, hi_max = (1, 1 << 24) if sized else (0, 10)
        default = 64 if sized else 0
        if op == "get_zeroed_page" and key in entry:
            v.fail(p + (key,), "get_zeroed_page takes no order (it is always one page)")
        try:
            lo, hi = parse_range(entry.get(key, default), key)
        except ValueError as exc:
            v.fail(p + (key,), f"{entry[key]!r} is not allowed; allowed: {exc}")
        if not (lo_max <= lo <= hi <= hi_max):
            v.fail(p + (key,), f"{entry[key]!r} is not allowed; allowed: "
                               f"{lo_max} <= LO <= HI <= {hi_max}")
        cache = None
        if "cache" in entry:
            if op != "kmem_cache_alloc":
                v.fail(p + ("cache",), "only kmem_cache_alloc takes a cache")
            cname = v.typed(entry, p, "cache", (str,), "a cache name")
            if lo != hi:
                v.fail(p + ("size",), "a cache has one object size: give an integer")
            cache = _cache_index(sc, cname, lo)
        elif op == "kmem_cache_alloc":
            if lo != hi:
                v.fail(p + ("size",), "a cache has one object size: give an integer")
            cache = _cache_index(sc, f"mmstress-{lo}", lo)
        specs.append(opmix.OpSpec(op, opmix.Dist(lo, hi, dist), gfp, weight, cache,
                                  where=_op_where(v, p, f"[{ctx}] {op}"),
                                  free_where=_op_where(v, path, f"[{ctx}] free")))
    return MixConfig(specs,
                     v.number(table, path, "max_held", 0, 100000, 64 if ctx == "process" else 8,
                              integer=True),
                     float(v.number(table, path, "free", 0, 1, 0.5)),
                     float(v.number(table, path, "remote_free", 0, 1, 0.0)))


def _op_where(v, path, what):
    """(TOML path, line, "[hardirq] kmalloc"): where an op entry's calls appear to run
    (``opmix.at_line``), so its reports name that line."""
    src = os.path.abspath(v.source) if os.path.exists(v.source) else v.source
    return src, line_of(v.text, path) if v.text else 1, what


def _cache_index(sc, name, size):
    if (name, size) not in sc.caches:
        sc.caches.append((name, size))
    return sc.caches.index((name, size))
