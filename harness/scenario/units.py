"""Sizes of time and ranges in scenario files and options: "500ms", "10s", "2m"; 64, "8..4096", [8, 4096]."""

import math
import re

MAX_DURATION = 24 * 3600.0     # a day: longer is a typo (or a 5000-digit number), not a run


def parse_duration(value):
    """"10s", "500ms", "2m", "1.5s" or a number of seconds -> seconds (float > 0)."""
    if isinstance(value, bool):
        raise ValueError("a duration like 10s, 500ms or 2m")
    if isinstance(value, (int, float)):
        secs = float(value)
    else:
        m = re.fullmatch(r"\s*(\d{1,30}(?:\.\d{1,30})?)\s*(ms|s|m|h)?\s*", str(value)[:200])
        if not m:
            raise ValueError("a duration like 10s, 500ms or 2m")
        secs = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if not secs > 0:
        raise ValueError("a duration greater than zero")
    if not math.isfinite(secs) or secs > MAX_DURATION:
        raise ValueError(f"a duration of at most {MAX_DURATION / 3600:g}h")
    return secs


def format_duration(secs):
    return f"{secs * 1000:g}ms" if secs < 1 else f"{secs:g}s"


def parse_range(value, what):
    """64, "8..4096" or [8, 4096] -> (lo, hi)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{1,20})\s*(?:\.\.\s*(\d{1,20})\s*)?", value)
        if m:
            lo = int(m.group(1))
            return lo, int(m.group(2)) if m.group(2) else lo
    if isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value[0], value[1]
    raise ValueError(f"{what}: an integer, \"LO..HI\" or [LO, HI]")
