"""`import jemalloc_sys` stays cheap: it imports none of the heavy modules and touches no file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, program


def test_import_pulls_in_no_heavy_module() -> None:
    out = subprocess.run([sys.executable, "-S", str(program("import_cost.py"))], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


def test_lazy_names_resolve() -> None:
    import jemalloc_sys

    assert issubclass(jemalloc_sys.LoadError, OSError)
    assert callable(jemalloc_sys.load) and callable(jemalloc_sys.library_path)
    assert set(jemalloc_sys.__all__) <= set(dir(jemalloc_sys)) | {"jemalloc_version", *jemalloc_sys._LAZY}


def test_submodules_are_attributes_after_a_plain_import() -> None:
    """``import jemalloc_sys; jemalloc_sys.ctl.default()`` works, as the docs write it (issue 15)."""
    code = ("import sys, jemalloc_sys; assert 'jemalloc_sys.ctl' not in sys.modules;"
            "print(jemalloc_sys.ctl.__name__, jemalloc_sys.errors.__name__, jemalloc_sys.prof.__name__,"
            " callable(jemalloc_sys.ctl.default), issubclass(jemalloc_sys.errors.MallctlError, OSError),"
            " {'ctl', 'errors', 'prof'} <= set(dir(jemalloc_sys)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["jemalloc_sys.ctl", "jemalloc_sys.errors", "jemalloc_sys.prof", "True", "True",
                                  "True"]


def test_an_unknown_attribute_still_raises() -> None:
    import jemalloc_sys

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        jemalloc_sys.nope  # noqa: B018
