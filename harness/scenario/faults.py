"""The ``[fault]`` section: fail-nth and the failslab / fail_page_alloc attributes -> ``FaultConfig``.

Keys are the kernel's debugfs names (Documentation/fault-injection), with
"_" accepted for "-"; semantics and defaults are ``harness/runtime/faults.py``.
"""

from harness.runtime import faults as _faults

_ATTR_KEYS = {"probability": (0, 100), "interval": (1, 2**31 - 1), "times": (-1, 2**31 - 1),
              "space": (0, 2**31 - 1), "verbose": (0, 2)}
_FILTERS = {"failslab": {"ignore-gfp-wait": bool, "cache-filter": bool, "caches": list},
            "fail_page_alloc": {"ignore-gfp-wait": bool, "ignore-gfp-highmem": bool,
                                "min-order": int}}


def fault_section(v, table):
    """The [fault] section -> faults.FaultConfig (kernel debugfs names; "_" or "-")."""
    path = ("fault",)
    if not isinstance(table, dict):
        v.fail(path, f"a table expected, got {type(table).__name__}")
    cfg = _faults.FaultConfig()
    for raw in table:
        if raw not in _FILTERS and raw not in ("fail-nth", "fail_nth"):
            v.fail(path + (raw,), "unknown key; allowed here: fail-nth, fail_page_alloc, failslab")
        if raw in ("fail-nth", "fail_nth"):
            cfg.fail_nth = v.number(table, path, raw, 0, 2**31 - 1, 0, integer=True)
    for name in _FILTERS:
        if name in table:
            setattr(cfg, name, _fault_attr(v, table[name], path + (name,), name))
    return cfg


def _fault_attr(v, table, path, name):
    if not isinstance(table, dict):
        v.fail(path, f"a table expected, got {type(table).__name__}")
    attr = _faults.FaultAttr(name)
    allowed = dict.fromkeys(_ATTR_KEYS, int) | _FILTERS[name]
    seen = {}
    for raw in table:
        key = raw.replace("_", "-")
        if key not in allowed:
            v.fail(path + (raw,), f"unknown key; allowed here: {', '.join(sorted(allowed))}")
        if key in seen:
            v.fail(path + (raw,), f"given twice (as {seen[key]!r} and {raw!r})")
        seen[key] = raw
        if key in _ATTR_KEYS:
            lo, hi = _ATTR_KEYS[key]
            val = v.number(table, path, raw, lo, hi, None, integer=True)
        elif key == "min-order":
            val = v.number(table, path, raw, 0, _faults.MAX_PAGE_ORDER, None, integer=True)
        elif key == "caches":
            val = v.typed(table, path, raw, (list,), "a list of cache names", None)
            if not all(isinstance(c, str) and c for c in val):
                v.fail(path + (raw,), "a list of cache names (strings) expected")
            val = tuple(val)
        else:
            val = v.typed(table, path, raw, (bool,), "true or false", None)
        setattr(attr, key.replace("-", "_"), val)
    return attr
