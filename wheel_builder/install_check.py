"""Install the wheelhouse into a fresh virtual environment and ask the library itself.

The acceptance flow of the variants: the base alone, then each extra
(``pip install 'jemalloc-sys[profiling]'``), then the companion removed again.
At every step ``jemalloc_sys.variant()`` must name what is installed, the
features the package reports must agree with jemalloc's own ``config.*``
mallctls, the library must allocate, and ``pip check`` must stay clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from collections.abc import Callable
from pathlib import Path

PROBE = r"""
import ctypes, json, jemalloc_sys
from jemalloc_sys import ctl
handle = jemalloc_sys.load()
prefix = jemalloc_sys.build_info()["symbol_prefix"]
malloc = getattr(handle, prefix + "malloc"); malloc.restype = ctypes.c_void_p; malloc.argtypes = [ctypes.c_size_t]
free = getattr(handle, prefix + "free"); free.argtypes = [ctypes.c_void_p]
pointer = malloc(4096); free(pointer)
allocator = ctl.default()
print(json.dumps({
    "variant": jemalloc_sys.variant(),
    "features": sorted(jemalloc_sys.features()),
    "config": {name: allocator.read("config." + name, "bool") for name in ("stats", "prof", "debug")},
    "library": str(jemalloc_sys.library_path()),
    "version": allocator.read("version", "const char *"),
    "allocated": bool(pointer),
}))
"""

FEATURE_OF_CONFIG = {"stats": "stats", "prof": "profiling", "debug": "debug"}
"""jemalloc's ``config.<name>`` mallctl -> our feature name."""

Step = tuple[str, bool, str]


class Venv:
    def __init__(self, root: Path) -> None:
        self.root = root
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        self.python = root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JEMALLOC_SYS_VARIANT", "PIP_CONFIG_FILE")}
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        return subprocess.run([str(self.python), *args], capture_output=True, text=True, cwd=self.root, env=env,
                              timeout=600)

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "pip", *args)

    def probe(self) -> dict[str, object]:
        proc = self.run("-c", PROBE)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "probe failed")
        result: dict[str, object] = json.loads(proc.stdout)
        return result


def _judge(probe: dict[str, object], variant: str, features: tuple[str, ...]) -> tuple[bool, str]:
    config = probe["config"]
    assert isinstance(config, dict)
    reported = set(probe["features"])  # type: ignore[call-overload]
    problems = []
    if probe["variant"] != variant:
        problems.append(f"variant() is {probe['variant']!r}")
    for name, feature in FEATURE_OF_CONFIG.items():
        if bool(config[name]) != (feature in reported):
            problems.append(f"config.{name}={config[name]} but features() {'has' if feature in reported else 'lacks'} {feature}")
    missing = [f for f in features if f not in reported]
    if missing:
        problems.append(f"features() lacks {missing}")
    if not probe["allocated"]:
        problems.append("malloc returned NULL")
    on = ",".join(n for n in FEATURE_OF_CONFIG if config[n]) or "none"
    return not problems, "; ".join(problems) or f"variant={probe['variant']} config.{{{on}}} true, allocates"


def acceptance(wheelhouse: Path, variants: dict[str, tuple[str, ...]], *, progress: Callable[[str], None],
               workdir: Path | None = None) -> list[Step]:
    """Base, then each companion installed and removed; returns one entry per step."""
    steps: list[Step] = []
    root = Path(tempfile.mkdtemp(prefix="venv-", dir=workdir))
    progress("install: creating a fresh virtual environment")
    env = Venv(root / "venv")
    find = ["--no-index", "--find-links", str(wheelhouse)]

    def step(name: str, variant: str, features: tuple[str, ...], proc: subprocess.CompletedProcess[str] | None) -> None:
        if proc is not None and proc.returncode != 0:
            steps.append((name, False, (proc.stderr or proc.stdout).strip().splitlines()[-1]))
            return
        try:
            ok, detail = _judge(env.probe(), variant, features)
        except RuntimeError as exc:
            ok, detail = False, str(exc)
        check = env.pip("check")
        if check.returncode != 0:
            ok, detail = False, f"{detail}; pip check: {check.stdout.strip()}"
        steps.append((name, ok, detail + ("; pip check clean" if ok else "")))

    progress("install: pip install jemalloc-sys")
    step("install jemalloc-sys", "base", variants.get("base", ()), env.pip("install", "-q", *find, "jemalloc-sys"))
    for name, features in variants.items():
        if name == "base":
            continue
        progress(f"install: pip install 'jemalloc-sys[{name}]'")
        step(f"install jemalloc-sys[{name}]", name, features, env.pip("install", "-q", *find, f"jemalloc-sys[{name}]"))
        progress(f"install: pip uninstall jemalloc-sys-{name}")
        step(f"uninstall jemalloc-sys-{name}", "base", variants.get("base", ()),
             env.pip("uninstall", "-y", "-q", f"jemalloc-sys-{name}"))
    return steps
