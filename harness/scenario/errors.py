"""The one error of scenario loading: file, line, key, the problem and what is allowed (exit 2)."""


class ScenarioError(Exception):
    """A scenario the harness cannot run; the message says where and what is allowed.

    Common causes: a misspelt key (``durration``), a string where a number
    belongs (``cpus = "2"``), an impossible value (``cpus = 0``,
    ``free = 1.5``), a GFP flag name that does not exist, a workload module
    that does not import.
    """


