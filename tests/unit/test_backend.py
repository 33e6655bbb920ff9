"""_backend/jemalloc_sys_backend.py: the metadata it declares and the variants it refuses (no compilation).

Each hook runs in a child (tests/programs/backend_hook.py) in the checkout, as a
build frontend would call it.
"""

from __future__ import annotations

import json
import os
import subprocess
from email.parser import HeaderParser
from pathlib import Path

from conftest import ROOT, run_program

from jemalloc_build import project

VERSION = project.version()


def _hook(hook: str, directory: Path, config: dict[str, str],
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_program(None, "backend_hook.py", hook, str(directory), json.dumps(config), env=env, cwd=ROOT,
                       check=False)


def _metadata(tmp_path: Path, config: dict[str, str], env: dict[str, str] | None = None) -> HeaderParser:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("JEMALLOC_SYS_")}
    full_env.update(env or {})
    proc = _hook("prepare_metadata_for_build_wheel", tmp_path, config, env=full_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = tmp_path / proc.stdout.strip().splitlines()[-1]
    return HeaderParser().parsestr((info / "METADATA").read_text())  # type: ignore[return-value]


def test_base_metadata_declares_the_extras_with_exact_pins(tmp_path: Path) -> None:
    meta = _metadata(tmp_path, {})
    assert meta["Name"] == "jemalloc-sys" and meta["Version"] == VERSION  # type: ignore[index]
    assert set(meta.get_all("Provides-Extra")) == {"stats", "profiling", "debug"}  # type: ignore[attr-defined]
    requires = [r.replace(" ", "") for r in meta.get_all("Requires-Dist")]  # type: ignore[attr-defined]
    assert f'jemalloc-sys-profiling=={VERSION};extra=="profiling"' in requires


def test_the_base_tree_refuses_to_build_a_companion_wheel(tmp_path: Path) -> None:
    proc = _hook("prepare_metadata_for_build_wheel", tmp_path, {"variant": "profiling"})
    assert proc.returncode != 0
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: variant 'profiling' asked for, but this tree builds the base distribution")
    assert "python -m build --sdist -C variant=profiling" in line


def test_backend_rejects_an_unknown_variant_in_one_line(tmp_path: Path) -> None:
    proc = _hook("build_wheel", tmp_path, {"variant": "fast"})
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: config setting variant='fast' is not a variant; accepted: base, stats, profiling, debug")
    assert list(tmp_path.iterdir()) == []
