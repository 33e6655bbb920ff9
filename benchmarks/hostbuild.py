"""The shipped variant's flags built with this machine's ``cc`` (gcc here): the toolchain comparison's other side.

Built through the one builder (``jemalloc_build``) exactly as a user's
``pip install`` from the sdist would build it with the host compiler, in a
cache folder of its own so it never mixes with the release (zig) entries.
The package's Python part comes from this checkout; only the libraries differ.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jemalloc_build import build as build_mod
from jemalloc_build.setuptools_ext import install_into

from .paths import ROOT

DEFAULT_CACHE = ROOT / "build" / "bench-host-cache"
"""The host-gcc builds' cache (the release builds live in the wheel builder's cache)."""

BUILD_VARIABLES = ("CC", "CFLAGS", "CPPFLAGS", "LDFLAGS", "EXTRA_CFLAGS", "EXTRA_LDFLAGS", "AR", "NM", "RANLIB",
                   "STRIP", "MAKEFLAGS", "_PYTHON_HOST_PLATFORM")


def clean_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ours) without build settings or compiler variables, except where the tarball is.

    ``JEMALLOC_SYS_SOURCE`` is kept when set; every other ``JEMALLOC_SYS_*``
    setting and any compiler variable is dropped, so that a build started from
    here differs from the shipped one only in what the caller changes.
    """
    env = dict(os.environ if base is None else base)
    source = env.get("JEMALLOC_SYS_SOURCE", "")
    env = {k: v for k, v in env.items()
           if not k.startswith(("JEMALLOC_SYS_", "JEMALLOC_OVERRIDE")) and k not in BUILD_VARIABLES}
    if source:
        env["JEMALLOC_SYS_SOURCE"] = source
    return env


def host_environ(cache_dir: Path, variant: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The builder's environment for ``variant`` with the host ``cc`` and ``cache_dir``: the toolchain differs, nothing else."""
    env = clean_environ(base)
    env["JEMALLOC_SYS_CACHE_DIR"] = str(cache_dir)
    env["JEMALLOC_SYS_BUILD_VARIANT"] = variant
    return env


@dataclass(frozen=True, kw_only=True)
class HostBuild:
    site: Path
    """A folder for PYTHONPATH holding ``jemalloc_sys`` with the host-built libraries."""
    results: dict[str, build_mod.BuildResult]

    @property
    def inprocess(self) -> Path:
        return self.results["inprocess"].library

    @property
    def preload(self) -> Path:
        return self.results["preload"].library

    def record(self, flavour: str) -> dict[str, Any]:
        return self.results[flavour].record

    def entry(self, flavour: str) -> Path:
        """The cache entry (its ``configure.log`` says which flags jemalloc's configure chose)."""
        return self.results[flavour].root


def build(cache_dir: Path, variant: str, work: Path, progress: Callable[[str], None]) -> HostBuild:
    """Build (or reuse from ``cache_dir``) both libraries of ``variant`` with the host cc, as a site folder."""
    env = host_environ(cache_dir, variant)
    progress(f"  host cc: building the {variant} variant's libraries (cached in {cache_dir} after the first run)")
    results = build_mod.build_all(build_mod.settings_for(env), environ=env, report=lambda line: None)
    site = work / f"host-site-{variant}"
    shutil.copytree(ROOT / "jemalloc_sys", site / "jemalloc_sys",
                    ignore=shutil.ignore_patterns("__pycache__", "lib", "include", "bin", "_build_record.json"))
    install_into(site / "jemalloc_sys", results)
    return HostBuild(site=site, results=results)
