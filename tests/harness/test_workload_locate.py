"""Finding a workload the way users keep it: a file or module next to the scenario.

``locate_workload`` is a file-system search that runs no code (a shared trace
hashes the module before anything is imported); ``import_workload`` then imports
it with its folder first on sys.path, as ``python ring.py`` would.
"""

import os
import sys

import pytest

from harness.scenario import ScenarioError, WorkloadNotFound, locate_workload, parse
from harness.scenario.workload import ROOT, import_workload

STEP = "def process(k):\n    pass\n"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A user's folder, with the working directory elsewhere (no PYTHONPATH either)."""
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    monkeypatch.setattr(sys, "path", list(sys.path))
    mods = dict(sys.modules)
    yield tmp_path / "user"
    for name in set(sys.modules) - set(mods):
        del sys.modules[name]


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("spec,rel", [("ring.py", "ring.py"), ("./ring.py", "ring.py"),
                                      ("drivers/ring.py", "drivers/ring.py"),
                                      ("ring", "ring.py"), ("drivers.ring", "drivers/ring.py")])
def test_files_and_modules_are_found_next_to_the_scenario(folder, spec, rel):
    _write(folder / rel, STEP)
    toml = _write(folder / "s.toml", f'workload = "{spec}"\n')
    loc = locate_workload(spec, str(toml))
    assert loc.path == str(folder / rel)
    sc = parse(toml.read_text(), str(toml), "s")
    assert sc.workload == spec and sc.workload_file == str(folder / rel)


def test_a_library_module_is_still_found_from_the_checkout(folder):
    toml = _write(folder / "s.toml", "")
    loc = locate_workload("scenarios.workloads.larson", str(toml))
    assert loc.path == os.path.join(ROOT, "scenarios", "workloads", "larson.py")


def test_finding_runs_no_code(folder):
    marker = folder / "ran"
    _write(folder / "evil.py", f"open({str(marker)!r}, 'w').close()\n" + STEP)
    loc = locate_workload("evil", str(folder / "s.toml"))
    assert loc.path.endswith("evil.py") and not marker.exists()
    import_workload(loc)
    assert marker.exists()                       # importing does run it: the check can fail


def test_a_missing_module_says_where_it_looked(folder):
    toml = _write(folder / "s.toml", 'workload = "nothere"\n')
    with pytest.raises(WorkloadNotFound) as e:
        locate_workload("nothere", str(toml))
    assert str(folder / "nothere.py") in e.value.looked
    assert os.path.join(ROOT, "nothere.py") in e.value.looked
    with pytest.raises(ScenarioError) as e:
        parse(toml.read_text(), str(toml), "s")
    assert "s.toml:1: workload: cannot find 'nothere'" in str(e.value)
    assert str(folder / "nothere.py") in str(e.value)


def test_a_missing_file_names_the_resolved_path(folder):
    toml = _write(folder / "s.toml", 'workload = "./drivers/ring.py"\n')
    with pytest.raises(ScenarioError) as e:
        parse(toml.read_text(), str(toml), "s")
    assert str(folder / "drivers" / "ring.py") in str(e.value)


def test_the_workloads_own_imports_find_the_files_beside_it(folder):
    _write(folder / "helpers_xyz.py", "SIZES = (32, 64)\n")
    _write(folder / "ring.py", "from helpers_xyz import SIZES\n" + STEP)
    mod = import_workload("ring.py", str(folder / "s.toml"))
    assert mod.SIZES == (32, 64)


def test_a_name_taken_by_another_module_still_loads_the_users_file(folder):
    _write(folder / "random.py", "MINE = True\n" + STEP)
    mod = import_workload("random", str(folder / "s.toml"))
    assert getattr(mod, "MINE", False) and mod.__file__ == str(folder / "random.py")
    import random
    assert not hasattr(random, "MINE")          # the standard module is left alone


def test_an_import_error_inside_the_workload_is_the_users_to_see(folder):
    _write(folder / "ring.py", "import no_such_helper_module\n" + STEP)
    toml = _write(folder / "s.toml", 'workload = "ring.py"\n')
    with pytest.raises(ScenarioError) as e:
        parse(toml.read_text(), str(toml), "s")
    assert "No module named 'no_such_helper_module'" in str(e.value)


def test_a_file_name_that_is_not_a_module_name_is_refused_clearly(folder):
    _write(folder / "my-ring.py", STEP)
    with pytest.raises(WorkloadNotFound) as e:
        locate_workload("my-ring.py", str(folder / "s.toml"))
    assert "not a Python module name" in str(e.value)
