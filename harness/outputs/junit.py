"""JUnit XML for CI: one <testcase> per scenario run.

A run with violations or workload failures (a soft lockup, a deadlock, a CPU
that exited unasked included) is a <failure>; a run where the harness itself
failed (a CPU killed by a signal, its own exception, a timeout) is an <error>;
an interrupted run is <skipped>.  <system-out> carries the summary and the
command that reproduces the run.

XML 1.0 forbids most control characters (even as ``&#27;``), and a scenario
name or a workload's message can hold any: the document goes through
``xml_text``, which writes each forbidden character as its escape text
(``\\x1b``: no ``<&"`` in it, so it is safe in text and attributes alike),
so the file always parses.
"""

import re
import xml.etree.ElementTree as ET

from harness.outputs.report import summary

# Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]  (XML 1.0, 2.2)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value):
    """``value`` as text XML 1.0 allows: each forbidden character as its escape (``\\x00``)."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], str(value))


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
    return xml_text(ET.tostring(root, encoding="unicode", xml_declaration=True)) + "\n"


def write_junit(path, doc):
    with open(path, "w") as f:
        f.write(junit_xml(doc))
