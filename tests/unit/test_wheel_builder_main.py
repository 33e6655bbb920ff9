"""``python -m wheel_builder`` (wheel_builder/__main__.py): arguments refused before anything is built."""

from __future__ import annotations

from conftest import run_wheel_builder


def test_unknown_variant_is_refused_in_one_line() -> None:
    proc = run_wheel_builder("--variants", "base,fastest", timeout=120)
    assert proc.returncode == 3  # a bad setting (jemalloc_build.errors.SettingError)
    assert proc.stderr.strip().splitlines()[0] == (
        "wheel_builder: error: --variants='fastest' is not a variant; accepted: base, stats, profiling, debug")
