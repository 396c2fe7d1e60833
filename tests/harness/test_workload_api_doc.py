"""docs/workload_api.md names every public attribute of ``k`` and nothing that is not one.

So the page cannot rot: a function added to ``harness/runtime/workload_api.py``
without a row fails here, and so does a row for a function that was renamed
or removed.
"""

import os
import re

from harness.runtime.mailbox import SLOTS
from harness.runtime.workload_api import Kernel
from harness.scenario import WORKLOAD_FUNCTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "workload_api.md")
INSTANCE = {"cpu", "nr_cpus", "context", "rng"}           # set in Kernel.__init__
DUNDER_API = {"__get_free_pages", "__free_pages"}          # kernel names with leading "__"


def public_api():
    names = {n for n in dir(Kernel) if not n.startswith("_")} | DUNDER_API | INSTANCE
    assert DUNDER_API <= set(dir(Kernel))
    return names


def documented():
    with open(DOC, encoding="utf-8") as f:
        return set(re.findall(r"\bk\.(\w+)", f.read()))


def test_every_public_name_of_k_is_documented():
    missing = sorted(public_api() - documented())
    assert not missing, f"docs/workload_api.md does not document k.{', k.'.join(missing)}"


def test_every_documented_name_exists():
    api = public_api()
    # attributes a workload sets on its own k are its own, not the API
    stale = sorted(n for n in documented() - api if n != "state")
    assert not stale, f"docs/workload_api.md documents k.{', k.'.join(stale)}, which k lacks"


def test_the_workload_functions_and_the_mailbox_capacity_match_the_code():
    text = open(DOC, encoding="utf-8").read()
    assert all(f"def {fn}(k)" in text for fn in WORKLOAD_FUNCTIONS)
    assert f"one mailbox of {SLOTS} slots" in text
