"""Workload modules (``workload = "scenarios.workloads.larson"``): importing one and checking it defines a step.

A workload module defines some of ``setup``, ``process``, ``hardirq``,
``softirq``, ``tasklet``, ``teardown`` (the ``k`` API of
``harness/runtime/workload_api.py`` is their argument).  Modules are imported
with the repository root on ``sys.path``, so ``scenarios.workloads.*`` resolves
from any working directory.
"""

import importlib
import os
import sys

WORKLOAD_FUNCTIONS = ("setup", "process", "hardirq", "softirq", "tasklet", "teardown")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check_workload(v, module):
    try:
        mod = import_workload(module)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to fix
        v.fail(("workload",), f"cannot import {module!r}: {type(exc).__name__}: {exc}")
    found = [f for f in WORKLOAD_FUNCTIONS if callable(getattr(mod, f, None))]
    if not found:
        v.fail(("workload",), f"{module!r} defines none of {', '.join(WORKLOAD_FUNCTIONS)}")


def import_workload(module):
    if ROOT not in sys.path:
        sys.path.append(ROOT)
    return importlib.import_module(module)
