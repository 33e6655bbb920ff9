"""The profiling calls on a build without profiling say which feature is missing and how to get it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROGRAMS

pytestmark = pytest.mark.build


def test_profiling_calls_on_a_build_without_profiling_name_the_extra(default_package: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(default_package)}
    proc = subprocess.run([sys.executable, str(PROGRAMS / "prof_errors.py"), str(tmp_path / "x.heap")], env=env,
                          cwd=default_package, capture_output=True, text=True, check=True, timeout=120)
    out = json.loads(proc.stdout)
    for name in ("prof.dump", "prof.reset", "prof.active"):
        kind, message = out[name]
        assert kind == "FeatureMissingError", (name, message)
        assert "built without profiling" in message and "jemalloc-sys[profiling]" in message, message
        assert "MALLOC_CONF" not in message, message
    assert not (tmp_path / "x.heap").exists()
