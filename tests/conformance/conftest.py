"""The ``kunit`` fixture of the conformance tests (kunit_helpers.py)."""

from kunit_helpers import kunit  # noqa: F401  (a fixture: pytest finds it here)
