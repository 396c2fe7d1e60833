"""JUnit XML for CI: one <testcase> per scenario run.

A run with violations or workload failures (a soft lockup, a deadlock, a CPU
that exited unasked included) is a <failure>; a run where the harness itself
failed (a CPU killed by a signal, its own exception, a timeout) is an <error>;
an interrupted run is <skipped>.  <system-out> carries the summary and the
command that reproduces the run.
"""

import xml.etree.ElementTree as ET

from harness.outputs.report import summary


def junit_xml(doc):
    runs = doc["runs"]
    suite = ET.Element("testsuite", name="mmstress", tests=str(len(runs)),
                       failures=str(sum(r["exit_code"] == 1 for r in runs)),
                       errors=str(sum(r["exit_code"] == 3 for r in runs)),
                       skipped=str(sum(r["status"] == "interrupted" for r in runs)),
                       time=f"{sum(r['elapsed'] for r in runs):.3f}")
    for r in runs:
        case = ET.SubElement(suite, "testcase", classname="mmstress.scenario",
                             name=f"{r['scenario']}[seed={r['seed']}]", time=f"{r['elapsed']:.3f}")
        first = (r["failures"] or r["violations"] or [{}])[0]
        message = first.get("message") or first.get("title") or (
            r["invariants"][0] if r["invariants"] else r["status"])
        if r["exit_code"] == 3:
            ET.SubElement(case, "error", message=message, type=first.get("kind", "harness")).text = \
                summary(r)
        elif r["exit_code"] == 1:
            ET.SubElement(case, "failure", message=message, type=first.get("kind", "violation")).text = \
                summary(r)
        elif r["status"] == "interrupted":
            ET.SubElement(case, "skipped", message="interrupted")
        ET.SubElement(case, "system-out").text = summary(r)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path, doc):
    with open(path, "w") as f:
        f.write(junit_xml(doc))
