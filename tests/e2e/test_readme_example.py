"""The README's workload example, copied verbatim into a fresh folder, runs clean.

The test takes the fenced blocks of README.md that open with ``# ring.toml``
and ``# ring.py``, writes them to an empty temporary folder and runs
``mmstress run ring.toml`` there, as a reader would: the working directory is
that folder and ``PYTHONPATH`` is unset, so the workload must be found next to
the scenario file.  ``mmstress`` is the console script's own entry point
(``harness.cli:main``) of this checkout, with nothing else on the path (``-P``:
not even the working directory).
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MMSTRESS = f"import sys; sys.path.insert(0, {ROOT!r}); from harness.cli import main; sys.exit(main())"


def readme_files():
    """{file name: text} of the README's fenced blocks whose first line is ``# NAME``."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    files = {}
    for body in re.findall(r"^```[a-z]*\n(.*?)^```$", readme, re.M | re.S):
        first = body.split("\n", 1)[0]
        if m := re.fullmatch(r"# (ring\.(?:toml|py))", first):
            files[m.group(1)] = body
    return files


def test_the_readme_has_the_example_as_two_fenced_blocks():
    files = readme_files()
    assert sorted(files) == ["ring.py", "ring.toml"]
    assert 'workload = "ring"' in files["ring.toml"] and "def process(k):" in files["ring.py"]


def test_the_readme_example_runs_clean_in_a_fresh_folder(tmp_path):
    for name, text in readme_files().items():
        (tmp_path / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-P", "-c", MMSTRESS, "run", "ring.toml", "--seed", "1"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "reproduce: mmstress run" in res.stdout and "FAILURE" not in res.stdout
