"""File paths as reports print them: relative to the repository, else to the working directory.

A leaf module (it imports nothing of the project) so that both the runtime
(op mixes compile their ops at a TOML line) and the checkers' records can
name a file the same way.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep


def rel(path):
    """A path as reports print it: relative to the repository, else to the current directory."""
    if path.startswith(ROOT):
        return path[len(ROOT):]
    try:
        cwd = os.getcwd() + os.sep
    except OSError:
        return path
    return path[len(cwd):] if path.startswith(cwd) else path
