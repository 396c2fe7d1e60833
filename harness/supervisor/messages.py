"""The machine's side of the CPU message protocol: one handler per message kind.

The wire format and the kinds are ``harness.runtime.messages`` (what a CPU
sends); ``MachineSide.on_<kind>`` is what the machine does with each, as
pytest-xdist's ``worker_<event>``.
"""

from harness.outputs import merge
from harness.runtime.messages import KINDS


class MachineSide:
    """The machine's handlers; ``handle(msg)`` calls ``on_<kind>`` (dashes as underscores)."""

    def __init__(self, result):
        self.result = result
        self.stacks = {}                 # cpu -> the last stack message
        self.roots = {}                  # cpu -> [addresses]

    def handle(self, msg):
        kind = msg.get("t")
        if kind not in KINDS:
            return
        getattr(self, "on_" + kind.replace("-", "_"))(msg)

    def on_failure(self, m):
        self.result.failures.append({
            "kind": m["kind"], "cpu": m["cpu"], "context": m["context"],
            "message": m.get("message") or f"CPU {m['cpu']} {m['context']}: {m['error']}",
            "doing": m.get("doing"), "site": m.get("site"), "traceback": m.get("traceback"),
            "released_locks": m.get("released_locks", [])})

    def on_violation(self, m):
        merge.add(self.result.violations, m)          # one record per key, over all CPUs

    def on_harness_error(self, m):
        self.result.failures.append({"kind": "harness-error", "cpu": m["cpu"], "context": None,
                                     "message": f"CPU {m['cpu']}: internal harness error",
                                     "traceback": m.get("traceback")})

    def on_stack(self, m):
        self.stacks[m["cpu"]] = m

    def on_roots(self, m):
        self.roots.setdefault(m["cpu"], []).extend(m.get("addrs", []))

    def on_done(self, m):
        merge.add_repeats(self.result.violations, m.get("cpu"), m.get("repeats"))
