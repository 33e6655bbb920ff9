"""``JEMALLOC_OVERRIDE``: package an existing jemalloc library instead of building one.

The package must then describe *that* library truthfully: version, features,
lg values and TLS model are read from the library itself. A library with
initial-exec TLS (Debian's libjemalloc2) cannot be dlopen'ed by a running
Python, so we ask it in a child process that has it preloaded, where the
static TLS block is reserved at start-up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from . import cache
from .build import RECORD, BuildResult
from .errors import OverrideError
from .settings import BuildSettings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from jemalloc_sys import _elf

_PROBE = textwrap.dedent(
    """
    import ctypes, json, sys
    lib = ctypes.CDLL(sys.argv[1])
    mallctl = getattr(lib, sys.argv[2] + "mallctl")
    mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p, ctypes.c_size_t]
    def read(name, cls):
        v = cls(); n = ctypes.c_size_t(ctypes.sizeof(cls))
        if mallctl(name.encode(), ctypes.byref(v), ctypes.byref(n), None, 0):
            return None
        return v.value.decode() if isinstance(v.value, bytes) else v.value
    out = {k: read(k, t) for k, t in [
        ("version", ctypes.c_char_p), ("config.prof", ctypes.c_bool), ("config.stats", ctypes.c_bool),
        ("config.debug", ctypes.c_bool), ("config.malloc_conf", ctypes.c_char_p), ("config.prof_libunwind", ctypes.c_bool),
        ("opt.background_thread", ctypes.c_bool), ("arenas.page", ctypes.c_size_t), ("arenas.quantum", ctypes.c_size_t),
        ("opt.cache_oblivious", ctypes.c_bool)]}
    print(json.dumps(out))
    """
)


def _prefix(info: _elf.ELFInfo, path: Path) -> str:
    names = info.exported()
    if "mallctl" in names:
        return ""
    for name in names:
        if name.endswith("mallctl"):
            return name.removesuffix("mallctl")
    raise OverrideError(f"JEMALLOC_OVERRIDE={path}: exports no mallctl, so it is not a jemalloc library;"
                        " point it at libjemalloc.so.2 (or a prefixed build of it)")


def _headers_for(path: Path) -> Path:
    for parent in path.resolve().parents:
        header = parent / "include" / "jemalloc" / "jemalloc.h"
        if header.is_file():
            return header
    raise OverrideError(f"JEMALLOC_OVERRIDE={path}: no include/jemalloc/jemalloc.h above it;"
                        " install the headers (e.g. apt-get install libjemalloc-dev)")


def probe(path: Path, prefix: str) -> dict[str, Any]:
    """Ask the library about itself, from a child process that preloads it."""
    env = dict(os.environ)
    var = "DYLD_INSERT_LIBRARIES" if sys.platform == "darwin" else "LD_PRELOAD"
    env[var] = str(path)
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(path), prefix], env=env,
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise OverrideError(f"JEMALLOC_OVERRIDE={path}: could not be queried (exit {proc.returncode});"
                            " is it a jemalloc shared library for this machine?", detail=proc.stderr[-2000:])
    facts: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return facts


def package(settings: BuildSettings) -> BuildResult:
    path = Path(settings.override).expanduser()
    if not path.is_file():
        raise OverrideError(f"JEMALLOC_OVERRIDE={settings.override}: no such file;"
                            " point it at an existing jemalloc shared library (e.g. /usr/lib/x86_64-linux-gnu/libjemalloc.so.2)")
    try:
        info = _elf.read(path)
    except (_elf.NotELFError, OSError) as exc:
        raise OverrideError(f"JEMALLOC_OVERRIDE={settings.override}: {exc}; point it at a jemalloc shared library") from None
    prefix = _prefix(info, path)
    header = _headers_for(path)
    facts = probe(path, prefix)
    features = [name for name, key in (("profiling", "config.prof"), ("stats", "config.stats"),
                                        ("debug", "config.debug"), ("profiling_libunwind", "config.prof_libunwind"),
                                        ("background_threads", "opt.background_thread")) if facts.get(key)]
    features.append("background_threads_runtime_support")
    if not info.static_tls:
        features.append("disable_initial_exec_tls")
    if prefix == "":
        features.append("unprefixed_malloc_on_supported_platforms")
    if facts.get("opt.cache_oblivious") is False:
        features.append("disable_cache_oblivious")
    page, quantum = facts.get("arenas.page"), facts.get("arenas.quantum")
    record: dict[str, Any] = {
        "jemalloc_version": facts["version"],
        "flavour": "inprocess",
        "features": sorted(features),
        "configure_args": None,
        "malloc_conf": facts.get("config.malloc_conf") or "",
        "lg_page": page.bit_length() - 1 if page else None,
        "lg_hugepage": None,
        "lg_quantum": quantum.bit_length() - 1 if quantum else None,
        "lg_vaddr": None,
        "symbol_prefix": prefix,
        "tls_model": "initial-exec" if info.static_tls else "global-dynamic",
        "library": path.name,
        "compiler": None,
        "target": None,
        "source": None,
        "override": str(path),
    }
    digest = hashlib.sha256(path.read_bytes() + json.dumps(record, sort_keys=True).encode()).hexdigest()[:20]
    entry = cache.cache_root(settings.cache_dir) / "builds" / f"override-{digest}"
    if not (entry / RECORD).is_file():
        with cache.staged_entry(entry) as scratch:
            (scratch / "lib").mkdir()
            shutil.copy2(path, scratch / "lib" / path.name)
            (scratch / "include" / "jemalloc").mkdir(parents=True)
            shutil.copy2(header, scratch / "include" / "jemalloc" / "jemalloc.h")
            licence = next((p for p in (Path("/usr/share/doc/libjemalloc2/copyright"),) if p.is_file()), None)
            (scratch / "COPYING").write_text(licence.read_text() if licence else
                                             f"License of {path}: see its distribution.\n", encoding="utf-8")
            (scratch / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return BuildResult(root=entry, library=entry / "lib" / path.name, record=record, reused=False, seconds=0.0)
