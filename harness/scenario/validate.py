"""``Validator``: the checks every scenario key goes through, failing with file:line: key: problem.

One validator per file (``source`` names it, ``text`` finds lines).  Each
check returns the value (or the default when the key is absent) or raises
``ScenarioError`` saying what is allowed.  ``path`` is the key's place in the
TOML tree: ``("process", "ops", 1, "size")``.
"""

from harness.scenario.errors import ScenarioError
from harness.scenario.lines import line_of
from harness.scenario.units import parse_duration


class Validator:
    """Validation helpers bound to one file."""

    def __init__(self, source, text):
        self.source, self.text = source, text

    def fail(self, path, problem):
        key = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        line = line_of(self.text, path) if self.text else 0
        where = f"{self.source}:{line}" if line else self.source
        raise ScenarioError(f"{where}: {key}: {problem}")

    def keys(self, table, path, allowed):
        for key in table:
            if key not in allowed:
                self.fail(path + (key,), f"unknown key; allowed here: {', '.join(sorted(allowed))}")

    def typed(self, table, path, key, types, what, default=None):
        if key not in table:
            return default
        v = table[key]
        if isinstance(v, bool) and bool not in types or not isinstance(v, types):
            self.fail(path + (key,), f"{what} expected, got {type(v).__name__} {v!r}")
        return v

    def number(self, table, path, key, lo, hi, default, integer=False, what=None):
        types = (int,) if integer else (int, float)
        kind = "an integer" if integer else "a number"
        v = self.typed(table, path, key, types, what or f"{kind} from {lo} to {hi}", default)
        if v is default:
            return v
        if not lo <= v <= hi:
            self.fail(path + (key,), f"{v!r} is out of range; allowed: {kind} from {lo} to {hi}")
        return v

    def choice(self, table, path, key, choices, default):
        v = self.typed(table, path, key, (str,), f"one of {', '.join(map(str, choices))}", default)
        if v is not default and v not in choices:
            self.fail(path + (key,), f"{v!r} is not allowed; allowed: {', '.join(map(str, choices))}")
        return v

    def duration(self, table, path, key, default):
        if key not in table:
            return default
        try:
            return parse_duration(table[key])
        except ValueError as exc:
            self.fail(path + (key,), f"{table[key]!r} is not allowed; allowed: {exc}")
