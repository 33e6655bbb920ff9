"""``python -m wheel_builder sdists``: its arguments and file handling (fast; the sdists themselves are built in
tests/integration/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from wheel_builder import sdists


def test_an_unknown_variant_is_a_one_line_error_before_any_work(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "wheel_builder", "sdists", "--variants", "base,profilng",
                           "--out", str(tmp_path / "out"), "--tools-dir", str(tmp_path / "tools")],
                          cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                                              "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 3
    assert proc.stderr.strip() == ("wheel_builder: error: --variants='profilng' is not a variant (did you mean"
                                   " 'profiling'?); accepted: base, stats, profiling, debug")
    assert not (tmp_path / "out").exists() and not (tmp_path / "tools").exists()


def test_old_files_of_a_distribution_are_replaced_and_others_kept(tmp_path: Path) -> None:
    for name in ("jemalloc_sys-5.3.1.0.tar.gz", "jemalloc_sys-5.3.0.0.tar.gz", "jemalloc_sys_stats-5.3.0.0.tar.gz",
                 "jemalloc_sys-5.3.0.0-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"")
    sdists.clear_old(tmp_path, "jemalloc-sys", (".tar.gz",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jemalloc_sys-5.3.0.0-py3-none-any.whl",
                                                          "jemalloc_sys_stats-5.3.0.0.tar.gz"]
