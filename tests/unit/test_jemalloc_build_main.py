"""``python -m jemalloc_build`` (jemalloc_build/__main__.py): arguments refused before anything is built."""

from __future__ import annotations

from pathlib import Path

from conftest import run_jemalloc_build


def test_install_rejects_an_unknown_variant(tmp_path: Path, clean_env: dict[str, str]) -> None:
    prefix = tmp_path / "prefix"
    proc = run_jemalloc_build("install", "--prefix", str(prefix), "--variant", "profilng", env=clean_env)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "--variant='profilng'" in lines[0] and "did you mean 'profiling'" in lines[0]
    assert "base, stats, profiling, debug" in lines[0]
    assert not prefix.exists(), "nothing may be left behind"
