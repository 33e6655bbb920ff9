"""The profiling calls on a build without profiling say which feature is missing and how to get it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_program

pytestmark = pytest.mark.build


def test_profiling_calls_on_a_build_without_profiling_name_the_extra(default_package: Path, tmp_path: Path) -> None:
    out = json.loads(run_program(default_package, "prof_errors.py", str(tmp_path / "x.heap")).stdout)
    for name in ("prof.dump", "prof.reset", "prof.active"):
        kind, message = out[name]
        assert kind == "FeatureMissingError", (name, message)
        assert "built without profiling" in message and "jemalloc-sys[profiling]" in message, message
        assert "MALLOC_CONF" not in message, message
    assert not (tmp_path / "x.heap").exists()
