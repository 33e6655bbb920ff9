"""`import jemalloc_sys` stays cheap: it imports none of the heavy modules and touches no file."""

from __future__ import annotations

import os
import subprocess
import sys

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
