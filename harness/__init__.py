"""mmstress harness: CPUs as processes, interrupts, schedulers, checkers, reports, CLI.

``__version__`` is the tool's version, the one place it is written: pyproject.toml
reads it (``[tool.setuptools.dynamic]``), ``mmstress --version`` prints it and the
JSON report carries it.
"""

__version__ = "0.1.0"
