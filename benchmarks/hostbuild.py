"""Libraries built here for comparison with the shipped ones: the host ``cc``'s, and zig experiments.

The toolchain section's other side: the shipped variant's flags built with
this machine's ``cc`` (gcc here), through the one builder (``jemalloc_build``)
exactly as a user's ``pip install`` from the sdist would build them, in a cache
folder of its own so they never mix with the release (zig) entries. The same
folder holds experiments: the release toolchain with one flag added through
``EXTRA_CFLAGS`` (a builder input, part of its cache key), to find out what a
difference between the two comes from. The package's Python part comes from
this checkout; only the libraries differ.
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
class LocalBuild:
    site: Path
    """A folder for PYTHONPATH holding ``jemalloc_sys`` with the libraries built here."""
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


def release_experiment_environ(cache_dir: Path, variant: str, extra_cflags: str) -> dict[str, str]:
    """The release toolchain (zig for manylinux here, from wheel_builder's tool venv) plus ``extra_cflags``."""
    from jemalloc_build import cross
    from jemalloc_build.cache import default_cache_dir
    from wheel_builder import pipeline, tools

    toolenv = tools.ensure(default_cache_dir() / "tools", install=False, say=lambda line: None)
    env = host_environ(cache_dir, variant)
    target = pipeline.default_target_name()
    if target != "host":
        env.update(cross.environment(target, cache_dir / "cross-tools", python=str(toolenv.python)))
    env["EXTRA_CFLAGS"] = extra_cflags
    return env


def build(env: Mapping[str, str], work: Path, label: str, progress: Callable[[str], None]) -> LocalBuild:
    """Build (or reuse from the cache ``env`` names) every library of ``env``'s variant, as a site folder."""
    progress(f"  {label}: building (cached in {env['JEMALLOC_SYS_CACHE_DIR']} after the first run)")
    results = build_mod.build_all(build_mod.settings_for(env), environ=env, report=lambda line: None)
    site = work / f"site-{label.replace(' ', '-')}"
    shutil.copytree(ROOT / "jemalloc_sys", site / "jemalloc_sys",
                    ignore=shutil.ignore_patterns("__pycache__", "lib", "include", "bin", "_build_record.json"))
    install_into(site / "jemalloc_sys", results)
    return LocalBuild(site=site, results=results)
