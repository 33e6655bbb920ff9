"""`import jemalloc_sys` stays cheap: it imports none of the heavy modules and touches no file."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_import_pulls_in_no_heavy_module() -> None:
    code = ("import sys; before = set(sys.modules); import jemalloc_sys; new = set(sys.modules) - before;"
            "heavy = {'ctypes', 'json', 'pathlib', 'logging', 'typing', 'importlib.util', 'jemalloc_sys._loader'};"
            "print(sorted(new & heavy))")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_names_resolve() -> None:
    import jemalloc_sys

    assert issubclass(jemalloc_sys.LoadError, OSError)
    assert callable(jemalloc_sys.load) and callable(jemalloc_sys.library_path)
    assert set(jemalloc_sys.__all__) <= set(dir(jemalloc_sys)) | {"jemalloc_version", *jemalloc_sys._LAZY}
