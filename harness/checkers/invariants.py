"""Whole-model consistency at the end of a run (and on demand, cheaply).

Wraps kernel_model.invariants; each problem names the structure.  Runs in
the machine's own process after the CPUs stopped (``finish``), so it sees a
quiescent model.  Slab invariants join when the slab layer provides
``kernel_model.invariants.check_slab``.
"""

from kernel_model import invariants

from .base import Checker


class InvariantChecker(Checker):
    name = "invariants"

    def check(self):
        problems = invariants.check_page_allocator(self.pgdat)
        slab_check = getattr(invariants, "check_slab", None)
        if slab_check is not None:
            problems += slab_check(self.pgdat)
        if problems:
            self.violation("invariant", site="(end of run)", frames=[],
                           details={"problems": list(problems)})
        return problems
