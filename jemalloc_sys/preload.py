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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _names, _record, cpus
from .errors import ConfError, PreloadUnavailableError, ProfilingUnavailableError

PRELOAD_VAR = "LD_PRELOAD"
CONF_VAR = "MALLOC_CONF"
"""Read by the unprefixed (preload) library."""

PYFRAMES_VAR = "JEMALLOC_SYS_PYFRAMES"
"""Set for ``--profile``: a Python child starts the Python-frames hook (jemalloc_sys.pyframes.ENV)."""

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


@dataclass(frozen=True)
class Option:
    """One malloc_conf option the runner adds, and why (printed by ``--dry-run`` and ``--service``)."""

    key: str
    value: str
    why: str


SERVICE_PRESET: tuple[Option, ...] = (
    Option("background_thread", "true",
           "purge unused dirty pages from background threads, in fork children too (gunicorn, celery workers),"
           " so an idle service gives memory back"),
    Option("dirty_decay_ms", "1000", "return freed pages after about 1 s instead of jemalloc's default 10 s"),
    Option("muzzy_decay_ms", "0", "skip the lazily-freed (muzzy) stage: purged pages go straight back to the OS"),
)
"""``jemalloc-sys run --service``: what a long-running service wants (plus ``narenas`` from :mod:`cpus`)."""


def arenas_option(limit: cpus.CpuLimit) -> Option:
    """``narenas`` for the CPUs the process may really use (cgroup quota, affinity), not the host's."""
    return Option("narenas", str(limit.arenas), limit.explain())


@dataclass(frozen=True)
class RunPlan:
    """What ``jemalloc-sys run`` changes in the environment, with the reason for each option."""

    env: dict[str, str]
    """The complete environment for the child."""
    options: tuple[Option, ...]
    """The malloc_conf options the runner itself chose (preset, arenas, profiling), in order."""

    def describe(self, base: Mapping[str, str]) -> list[str]:
        """The lines ``--dry-run`` prints: each changed variable, then each chosen option and its reason."""
        lines = [f"{name}={value}" for name, value in sorted(self.env.items()) if base.get(name) != value]
        lines += [f"  {o.key}:{o.value}  # {o.why}" for o in self.options]
        return lines


def plan(
    conf: str | Mapping[str, Any] | None = None,
    *,
    profile: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    python_malloc: bool = False,
    service: bool = False,
    arenas: str | int | None = None,
    cpu_limit: cpus.CpuLimit | None = None,
    python_frames: bool = True,
) -> RunPlan:
    """The environment and options of a run; see :func:`preload_env` (``cpu_limit`` overrides the detection)."""
    base = dict(os.environ if env is None else env)
    path = preload_path()
    chosen: list[Option] = list(SERVICE_PRESET) if service else []
    if service or arenas == "auto":
        chosen.append(arenas_option(cpu_limit or cpus.limit()))
    elif arenas is not None:
        chosen.append(Option("narenas", str(int(arenas)), "asked for (--arenas)"))
    if profile is not None:
        if "profiling" not in preload_features():
            raise ProfilingUnavailableError(
                f"heap profiling needs a jemalloc built with profiling, and {path.name} was built without it"
                f" (features: {', '.join(sorted(preload_features())) or 'none'}); for it: {PROFILING_HINT}")
        Path(profile).mkdir(parents=True, exist_ok=True)
        chosen += [Option(k, v, "heap profiling (--profile)") for k, v in parse_conf(profile_conf(profile))]
    parts = [f"{o.key}:{o.value}" for o in chosen] + [f"{k}:{v}" for k, v in parse_conf(conf)]
    out = dict(base)
    out[PRELOAD_VAR] = _join_preload(str(path), base.get(PRELOAD_VAR, ""))
    if parts:
        out[CONF_VAR] = ",".join([p for p in (base.get(CONF_VAR, ""), *parts) if p])
    if profile is not None and python_frames:
        # Python frames in the profile (jemalloc_sys.pyframes, started by the package's .pth hook); pymalloc
        # would hide small objects in its own arenas, so Python's allocations go to malloc.
        out[PYFRAMES_VAR] = "1"
        python_malloc = True
    if python_malloc:
        out["PYTHONMALLOC"] = "malloc"
    return RunPlan(env=out, options=tuple(chosen))


def preload_env(
    conf: str | Mapping[str, Any] | None = None,
    *,
    profile: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    python_malloc: bool = False,
    service: bool = False,
    arenas: str | int | None = None,
    python_frames: bool = True,
) -> dict[str, str]:
    """The environment that runs a child process under jemalloc, for ``subprocess.run(..., env=...)``.

    ``conf``: extra malloc_conf (``"narenas:2"`` or ``{"narenas": 2}``); ``profile``: a folder to
    receive heap profiles (needs a profiling build); ``python_malloc``: also set
    ``PYTHONMALLOC=malloc`` so a Python child sends its small objects to jemalloc too;
    ``service``: the options of :data:`SERVICE_PRESET` plus ``narenas`` from the CPUs the
    process may use; ``arenas``: ``"auto"`` (that ``narenas`` alone) or a number;
    ``python_frames``: with ``profile``, also name Python functions in the profile (sets
    ``JEMALLOC_SYS_PYFRAMES=1`` and ``PYTHONMALLOC=malloc``).
    Starts from ``env`` (default ``os.environ``) and never drops what is already there;
    the runner's options come after an existing ``MALLOC_CONF``, ``conf`` after them (it wins).
    """
    return plan(conf, profile=profile, env=env, python_malloc=python_malloc, service=service, arenas=arenas,
                python_frames=python_frames).env
