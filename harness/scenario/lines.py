"""The line of a key in TOML source, so a scenario error says ``file:line``.

``tomllib`` keeps no positions, so this finds them back from the text: the
``[table]`` header, then the key (``name =``), then the n-th ``{`` of an
inline-table list.  Best effort: a key it cannot find points at its table.
"""

import re

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")


def line_of(text, path):
    """Best-effort 1-based line of ``path`` (("process", "ops", 1, "size")) in TOML source."""
    lines = text.splitlines()
    headers = [(i, m.group(1).replace(" ", "").replace('"', ""))
               for i, ln in enumerate(lines) if (m := _HEADER.match(ln))]
    strs = []
    for p in path:
        if not isinstance(p, str):
            break
        strs.append(p)
    start, end, rest = 0, len(lines), list(path)
    for n in range(len(strs), 0, -1):
        name = ".".join(strs[:n])
        hit = [i for i, h in headers if h == name]
        if hit:
            start = hit[0]
            later = [i for i, _ in headers if i > start]
            end = later[0] if later else len(lines)
            rest = list(path[n:])
            if not rest:
                return start + 1
            break
    else:
        # Top-level key: search before the first header.
        end = headers[0][0] if headers else len(lines)
    pos = start
    for p in rest:
        if isinstance(p, int):
            seen = -1
            for i in range(pos, end):
                seen += lines[i].count("{")
                if seen >= p:
                    pos = i
                    break
            continue
        pat = re.compile(rf"(^|[\s{{,]){re.escape(p)}\s*=")
        for i in range(pos, end):
            if pat.search(lines[i]):
                pos = i
                break
    return pos + 1
