"""Run a program under jemalloc: the preload library and the environment that loads it.

This is what most Python users do with jemalloc (a Celery or Django service
started with ``LD_PRELOAD=libjemalloc.so.2``). The library used is the
package's own *preload* build: unprefixed, so it replaces ``malloc`` for the
whole process, and with initial-exec TLS, which is right (and faster) for a
library loaded at start-up. It reads ``MALLOC_CONF``; the in-process library,
being prefixed, reads ``_RJEM_MALLOC_CONF`` instead.

Existing ``LD_PRELOAD`` and ``MALLOC_CONF`` values are kept: other preloaded
libraries stay (after ours, so that jemalloc's ``malloc`` is the one bound),
and our ``MALLOC_CONF`` entries come after the user's, so that an explicit
``--conf`` wins (jemalloc applies later pairs last).

macOS: jemalloc can become the default malloc zone through
``DYLD_INSERT_LIBRARIES`` when built with its zone allocator, but this package
ships no such library there and it cannot be tested on this project's CI
machines, so :func:`preload_env` refuses with an explanation instead.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _names, _record
from .errors import ConfError, PreloadUnavailableError, ProfilingUnavailableError

PRELOAD_VAR = "LD_PRELOAD"
CONF_VAR = "MALLOC_CONF"
"""Read by the unprefixed (preload) library."""

PROFILING_HINT = ("pip install 'jemalloc-sys[profiling]' (or build with JEMALLOC_SYS_FEATURES=profiling)")

_PAIR = re.compile(_names.CONF_PAIR)


def _preload_record() -> dict[str, Any]:
    rec = _record.record()
    pre: dict[str, Any] | None = rec.get("preload")
    if pre is None:
        if sys.platform == "darwin":
            why = ("macOS has no LD_PRELOAD; DYLD_INSERT_LIBRARIES would need a zone-registering build, which this"
                   " package does not ship (and cannot test); link jemalloc_sys's library or use it in-process")
        elif sys.platform == "win32":
            why = "Windows has no library preloading; use jemalloc in-process (jemalloc_sys.load())"
        elif rec.get("override"):
            why = f"it was built with JEMALLOC_OVERRIDE={rec['override']}; LD_PRELOAD that library yourself"
        else:
            why = "this build has no preload library; reinstall jemalloc-sys from a Linux wheel"
        raise PreloadUnavailableError(f"no jemalloc preload library here: {why}")
    return pre


def preload_path() -> Path:
    """Path of the unprefixed preload library (for ``LD_PRELOAD`` in Dockerfiles and systemd units)."""
    name: str = _preload_record()["library"]
    path = _record.library_dir() / name
    if not path.is_file():
        raise PreloadUnavailableError(f"the preload library {path} is missing; reinstall jemalloc-sys")
    return path


def preload_features() -> frozenset[str]:
    return frozenset(_preload_record().get("features", ()))


def parse_conf(conf: str | Mapping[str, Any] | None, *, source: str = "--conf") -> list[tuple[str, str]]:
    """``k:v,k:v`` (or a mapping) as pairs, checked against the option names of the shipped jemalloc."""
    if conf is None or conf == "":
        return []
    if isinstance(conf, Mapping):
        items = [f"{k}:{str(v).lower() if isinstance(v, bool) else v}" for k, v in conf.items()]
    else:
        items = conf.split(",")
    from .ctl import types_table

    known = set(types_table().get("conf_options", ()))
    pairs = []
    for item in items:
        if not _PAIR.match(item):
            raise ConfError(f"{source}: {item!r} is not a key:value pair; write e.g."
                            " 'background_thread:true,dirty_decay_ms:1000' (values cannot contain commas)")
        key, _, value = item.partition(":")
        if known and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfError(f"{source}: jemalloc has no option {key!r}; {hint}see `man jemalloc` (opt.*) for the list")
        pairs.append((key, value))
    return pairs


def profile_conf(directory: str | os.PathLike[str]) -> str:
    """Options that make the process dump its heap profile at exit into ``directory`` (``jeprof.<pid>.*.heap``)."""
    folder = os.path.abspath(os.fspath(directory))
    if "," in folder:
        raise ConfError(f"--profile: {folder!r} contains a comma, which MALLOC_CONF cannot carry; pick another folder")
    return f"prof:true,prof_final:true,prof_prefix:{folder}/jeprof"


def _join_preload(ours: str, existing: str) -> str:
    others = [p for p in re.split(r"[:\s]+", existing) if p and p != ours]
    return ":".join([ours, *others])


def preload_env(
    conf: str | Mapping[str, Any] | None = None,
    *,
    profile: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    python_malloc: bool = False,
) -> dict[str, str]:
    """The environment that runs a child process under jemalloc, for ``subprocess.run(..., env=...)``.

    ``conf``: extra malloc_conf (``"narenas:2"`` or ``{"narenas": 2}``); ``profile``: a folder to
    receive heap profiles (needs a profiling build); ``python_malloc``: also set
    ``PYTHONMALLOC=malloc`` so a Python child sends its small objects to jemalloc too.
    Starts from ``env`` (default ``os.environ``) and never drops what is already there.
    """
    base = dict(os.environ if env is None else env)
    path = preload_path()
    parts = [f"{k}:{v}" for k, v in parse_conf(conf)]
    if profile is not None:
        if "profiling" not in preload_features():
            raise ProfilingUnavailableError(
                f"heap profiling needs a jemalloc built with profiling, and {path.name} was built without it"
                f" (features: {', '.join(sorted(preload_features())) or 'none'}); for it: {PROFILING_HINT}")
        Path(profile).mkdir(parents=True, exist_ok=True)
        parts.insert(0, profile_conf(profile))
    base[PRELOAD_VAR] = _join_preload(str(path), base.get(PRELOAD_VAR, ""))
    if parts:
        existing = base.get(CONF_VAR, "")
        base[CONF_VAR] = ",".join([p for p in (existing, *parts) if p])
    if python_malloc:
        base["PYTHONMALLOC"] = "malloc"
    return base
