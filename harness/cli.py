"""The ``mmstress`` command line: the parser, built from the command modules, and ``main``.

    mmstress run [SCENARIO ...]      run scenarios (default: smoke)
    mmstress list | demo | sweep | replay | minimize | explain | bench
    mmstress --version | --help      (bare ``mmstress`` prints the help, exit 0)

Each subcommand is a module of ``harness/commands/`` listed in
``harness.commands.COMMANDS`` (its options, its ``main(args)``).  Exit codes
and ``UsageError`` are ``harness.exits``.  Bad input is one clear message on
stderr, never a traceback.  Help text is the modules' docstrings made plain
(``plain``: no reST markup); ``--color`` is harness/commands/_colour.py.

stderr, never a traceback.

Two things hold for every command, so they are done here, once:

* SIGINT and SIGTERM are caught before anything else is imported
  (``harness.signals``): a signal at any instant stops the command with its
  report and exit 128 + n, never a traceback.
* A reader that goes away (``mmstress run ... | head -1``) ends the output,
  not the command: the first EPIPE on stdout or stderr sends the rest of that
  stream to /dev/null (the Python documentation's recipe for SIGPIPE, applied
  where the write happens) and the command goes on to its reports and its
  own exit code.
"""

import argparse
import importlib
import os
import re
import sys

import harness
from harness import signals
from harness.commands import _colour
from harness.outputs import destination
from harness.exits import EXIT_HELP, EXIT_OK, EXIT_SIGINT, EXIT_USAGE, UsageError, printable

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`([^`]*)`")       # :func:`x`, :py:class:`x` -> x


def _linux():
    """The kernel the model follows (imported when the parser is built, after the
    signal handlers are in: the model is the import that takes time)."""
    from kernel_model import LINUX_VERSION
    return LINUX_VERSION


def description():
    return (f"A multi-process allocator stress harness over an executable model of the Linux "
            f"{_linux()} memory manager.  `mmstress COMMAND --help` for a command's options.")


def version():
    return f"mmstress {harness.__version__} (model: Linux {_linux()})"


def plain(text):
    """Help text without reST markup: ``x`` and :role:`x` become x."""
    return _ROLE.sub(r"\1", text).replace("``", "") if text else text


def command_modules():
    """[(name, module)] of ``harness.commands.COMMANDS``, in help order."""
    from harness.commands import COMMANDS
    return [(name, importlib.import_module(f"harness.commands.{name}")) for name in COMMANDS]


def build_parser():
    parser = argparse.ArgumentParser(prog="mmstress", description=description(),
                                     epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=version())
    _colour_option(parser, "auto")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in command_modules():
        p = sub.add_parser(name, help=plain(module.HELP), description=plain(module.__doc__),
                           epilog=plain(getattr(module, "EPILOG", EXIT_HELP)),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.arguments(p)
        _colour_option(p, argparse.SUPPRESS)      # after the command too; the top one's default
        for action in p._actions:
            action.help = plain(action.help)
        p.set_defaults(func=module.main)
    return parser


def _colour_option(p, default):
    p.add_argument("--color", choices=_colour.MODES, default=default,
                   help="colour the BUG:/WARNING: header lines: auto (default: on a terminal, "
                   "unless NO_COLOR is set or TERM=dumb), always, never")


class ReaderGone:
    """``sys.stdout``/``sys.stderr`` during a command: writes that find the reader gone
    (EPIPE) send the rest of the stream to /dev/null instead of raising."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self):
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
        try:
            self._stream.flush()          # what was buffered goes to /dev/null now
        except (BrokenPipeError, ValueError):
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv=None):
    """Run one command; its exit code.  ``main()`` (the console script, ``python -m
    harness``) is the process's command: once it returns, SIGINT and SIGTERM are ignored
    until the process exits, so a signal after the reports are written changes nothing.  ``main(argv)``
    (tests, scripts) puts the previous handlers and streams back when it returns."""
    restore = signals.catch()
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ReaderGone(sys.stdout), ReaderGone(sys.stderr)
    try:
        return _command(argv)
    finally:
        for guarded in (sys.stdout, sys.stderr):
            guarded.flush()
        if argv is not None:
            sys.stdout, sys.stderr = streams
            restore()
        else:
            signals.hold()


def _command(argv):
    words = list(sys.argv[1:] if argv is None else argv)
    bad = destination.scan(words[1:])
    if bad and words and not words[0].startswith("-"):
        print(f"mmstress {words[0]}: error: argument {bad[0]}: {bad[1]}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    args = parser.parse_args(argv)            # bad options: exit 2 before the model is imported
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.command is None:                      # bare `mmstress`: what can I do here?
        parser.print_help()
        return EXIT_OK
    stdout = sys.stdout
    if _colour.wanted(args.color, stdout):
        sys.stdout = _colour.HeaderColour(stdout)
    from kernel_model import ModelError
    try:
        return args.func(args)
    except (UsageError, ModelError) as exc:
        print(f"mmstress: {printable(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:                  # only if a command put Python's handler back
        print("mmstress: interrupted", file=sys.stderr)
        return EXIT_SIGINT
    finally:
        if sys.stdout is not stdout:
            sys.stdout.flush()
            sys.stdout = stdout


if __name__ == "__main__":
    raise SystemExit(main())
