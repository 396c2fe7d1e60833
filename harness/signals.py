"""SIGINT and SIGTERM at any instant of a command: caught from its first line, kept as a stop request.

Why a request and not an exception.  Python's default turns SIGINT into a
``KeyboardInterrupt`` raised wherever the main thread happens to be -- in an
import, in the ``finally`` that closes the arena, in the middle of writing a
report -- and SIGTERM kills the process on the spot.  Either way the report
is lost (issue 15: 16 of 24 signals in the first 0.4 s left none, some with
a traceback).  Here the handler only records the signal; the code that runs
a command looks at the request where stopping is safe:

    machine.run      before booting the arena and before forking the CPUs: nothing
                     runs, the run is reported as interrupted with no operations;
                     before GO: ABORT; while the CPUs run: STOP (they finish the
                     iteration, tear down, the checks run; a serialised run's
                     engine is stopped first, no teardown, no checks); a second
                     request: ABORT (no teardown, no checks)
    run_scenarios    after each scenario: the rest are not run
    minimize         between candidate runs: the search ends, the smallest run
                     found so far is saved
    sweep            starts no new run; forwards each request once to its runners
    replay, explore, bench, repro: through machine.run and their own loops

A command decides its outcome once, after its last run and before it writes
its reports: a request seen by then makes the exit code 128 + the first
signal (130 SIGINT, 143 SIGTERM) and the reports say ``"interrupted":
"SIGINT"``; a signal after that changes neither (the reports and the exit
code always agree).  Nothing here ever raises, so no signal can interrupt a
``finally``, a report write or an import.

Who catches.  ``harness.cli.main`` calls ``catch()`` first, before the heavy
imports.  Called as the process's command (``main()``), it ends with
``hold()``: the signals are ignored until the process exits, because
Python's finalisation puts the default handlers back and a signal then would
kill the process after its report said otherwise.  Called in-process
(``main(argv)``: tests), the restore function puts the previous handlers
back and forgets the request.  A nested ``catch()`` (``machine.install_stop_handlers``, used by code that runs
the machine without the CLI) keeps the outer handlers and the request.  A
forked child inherits the handler and the request: a sweep's runner that is
signalled before its run starts sees the request in ``machine.run``.  CPU
processes ignore both signals (harness/runtime/cpu.py): stopping them is the
machine's job, through the arena's run control word.

What no handler can cover: a signal that arrives before the interpreter has
run ``cli.main``'s first line (the interpreter's own start: about 0.05 s on
an idle machine, 0.2-0.3 s at a load of 15 on 2 cores) gets Python's default
-- SIGTERM ends the process by the signal (a shell shows 143), SIGINT raises
KeyboardInterrupt inside the interpreter's start-up -- with nothing started
and nothing to report.
"""

import signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_state = {"signum": None, "count": 0, "caught": False}


def request(signum, frame=None):
    """The handler of SIGINT and SIGTERM: remember the first signal, count them all."""
    _state["signum"] = _state["signum"] or signum
    _state["count"] += 1


def catch():
    """Catch SIGINT and SIGTERM as stop requests; returns the function that undoes it.

    The outermost call clears the request and its restore function puts the
    previous handlers back and clears it again; a nested call changes nothing
    and its restore function does nothing."""
    if _state["caught"] and all(signal.getsignal(s) is request for s in STOP_SIGNALS):
        return lambda: None
    old = {s: signal.signal(s, request) for s in STOP_SIGNALS}
    _state.update(signum=None, count=0, caught=True)

    def restore():
        for s, h in old.items():
            signal.signal(s, h)
        _state.update(signum=None, count=0, caught=False)
    return restore


def hold():
    """The command's outcome is decided and reported: ignore SIGINT and SIGTERM for the rest
    of the process.  Python's finalisation puts the default action back for a signal
    that has a Python handler (not for an ignored one), and a signal then would kill
    the process by that signal after its report said otherwise.  (Blocking is not
    enough: multiprocessing's resource tracker unblocks both when it starts.)"""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def requested():
    """The first stop signal received (a signal number), or None."""
    return _state["signum"]


def count():
    """How many stop signals were received (the second one aborts a run)."""
    return _state["count"]


def name(signum=None):
    """``"SIGINT"`` / ``"SIGTERM"`` of ``signum`` (default: the request), or None."""
    signum = signum if signum is not None else _state["signum"]
    return signal.Signals(signum).name if signum else None
