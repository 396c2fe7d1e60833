"""Colour on the terminal: the ``BUG:`` and ``WARNING:`` header lines of a splat, and nothing else.

``--color=auto`` (the default) colours only when standard output is a
terminal, ``NO_COLOR`` is unset or empty (https://no-color.org) and ``TERM``
is not ``dumb``; ``--color=always`` colours even into a pipe or a file (an
explicit flag overrides ``NO_COLOR``, as no-color.org allows); ``--color=never``
never colours.  The colouring is a wrapper around ``sys.stdout`` that
``harness.cli.main`` installs for the command's lifetime, so the renderers
(harness/outputs/text.py) stay plain text and JSON, JUnit and traces never
carry an escape sequence.  Not a command: the leading ``_`` keeps it out of
the command registry.
"""

import os

MODES = ("auto", "always", "never")
HEADERS = (("BUG:", "\033[1;31m"), ("WARNING:", "\033[1;33m"))     # bold red, bold yellow
RESET = "\033[0m"


def wanted(mode, stream, environ=os.environ):
    """Whether output to ``stream`` is coloured under ``--color=mode``."""
    if mode == "always":
        return True
    if mode == "never" or environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(line):
    """``line`` in its header's colour if it is a BUG:/WARNING: header, else unchanged."""
    for prefix, colour in HEADERS:
        if line.startswith(prefix):
            return f"{colour}{line}{RESET}"
    return line


class HeaderColour:
    """A text stream that colours whole header lines written to ``stream``.

    Text is passed on a line at a time (a header's colour must span its whole
    line); ``flush`` passes on a partial line too, so a prompt is never held back.
    """

    def __init__(self, stream):
        self.stream = stream
        self._part = ""

    def write(self, text):
        lines = (self._part + text).split("\n")
        self._part = lines.pop()
        if lines:
            self.stream.write("".join(paint(ln) + "\n" for ln in lines))
        return len(text)

    def flush(self):
        if self._part:
            self.stream.write(paint(self._part))
            self._part = ""
        self.stream.flush()

    def __getattr__(self, name):          # isatty, fileno, encoding, buffer ...
        return getattr(self.stream, name)
