"""JEMALLOC_OVERRIDE: packaging Debian's libjemalloc2 reports what that library really is."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEBIAN_JEMALLOC, last_json, run_program

pytestmark = pytest.mark.build

DEBIAN_LIB = DEBIAN_JEMALLOC
needs_debian = pytest.mark.skipif(not DEBIAN_LIB.is_file(), reason="Debian's libjemalloc2 is not installed (apt-get install libjemalloc2 libjemalloc-dev)")


@pytest.fixture(scope="module")
def override_package(make_package: Callable[..., Path]) -> Path:
    if not DEBIAN_LIB.is_file():
        pytest.skip("Debian's libjemalloc2 is not installed (apt-get install libjemalloc2 libjemalloc-dev)")
    return make_package(JEMALLOC_OVERRIDE=str(DEBIAN_LIB))


@pytest.fixture(scope="module")
def report(override_package: Path) -> dict[str, object]:
    data: dict[str, object] = last_json(run_program(override_package, "override_report.py").stdout)
    return data


@needs_debian
def test_reports_the_real_version(report: dict[str, object]) -> None:
    assert str(report["version"]).startswith("5.3.0-"), report["version"]


@needs_debian
def test_features_match_what_the_library_does(report: dict[str, object]) -> None:
    """Cross-check by behaviour, not by mallctl: jemalloc rejects `prof:true` unless built with profiling."""
    env = {"LD_PRELOAD": str(DEBIAN_LIB), "MALLOC_CONF": "prof:true"}
    proc = subprocess.run(["python3", "-c", "pass"], env={**os.environ, **env}, capture_output=True, text=True)
    profiling_compiled_in = "Invalid conf pair: prof:true" not in proc.stderr
    features = set(report["features"])  # type: ignore[call-overload]
    assert ("profiling" in features) == profiling_compiled_in
    # Debian keeps initial-exec TLS and exports malloc unprefixed.
    assert "disable_initial_exec_tls" not in features
    assert "unprefixed_malloc_on_supported_platforms" in features


@needs_debian
def test_build_record_names_the_override_and_its_tls(report: dict[str, object]) -> None:
    info = report["info"]
    assert isinstance(info, dict)
    assert info["override"] == str(DEBIAN_LIB)
    assert info["tls_model"] == "initial-exec"
    assert info["symbol_prefix"] == ""
    assert info["lg_page"] == 12


@needs_debian
def test_load_explains_why_it_cannot_work_and_what_to_do(report: dict[str, object]) -> None:
    error = str(report["error"])
    assert "initial-exec TLS" in error
    assert "jemalloc-sys run" in error and "JEMALLOC_OVERRIDE" in error
