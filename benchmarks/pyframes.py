"""Issue 17: what naming Python frames in heap profiles costs, at jemalloc's default sampling.

Both rows run the same workload (``workloads/pyprof.py``) under the profiling
wheel's preload library with the runner's ``--profile`` environment
(``prof:true``, default ``lg_prof_sample``, ``PYTHONMALLOC=malloc``); they differ
only in ``JEMALLOC_SYS_PYFRAMES``, i.e. ``jemalloc-sys run --profile`` against
``jemalloc-sys run --profile --no-python-frames``. The hook runs only when
jemalloc takes a sample (about once per 512 KiB allocated), so the cost should
stay in the noise; the call-heavy case has the deepest Python stacks to walk.
The figure is the CPU time of the workload's loop (``seconds=``); the hook's
one-off start-up check (it measures the interpreter's frame layout) is
reported separately as the difference in whole-process CPU.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from . import measure, report, sites
from .shipped import Installed

WORKLOAD = Path(__file__).parent / "workloads" / "pyprof.py"
NATIVE = "profiling, native frames only (`run --profile --no-python-frames`)"
FRAMES = "profiling with Python frames (`run --profile`)"
GOALS = {"alloc": 1.05, "calls": 1.03}
CASES = {"alloc": "allocation-heavy (dicts, lists, bytes)", "calls": "call-heavy (recursion, one tuple per call)"}
_HOOK = re.compile(r"^pyframes=(on|off)$", re.MULTILINE)


def interpreter() -> str | None:
    """A Python whose frame layout the hook knows (3.13, else 3.12): on PATH or under pyenv."""
    pyenv_root = ""
    if shutil.which("pyenv"):
        pyenv_root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    for version in ("3.13", "3.12"):
        found = shutil.which(f"python{version}")
        candidates = [found] if found else []
        if pyenv_root:
            candidates += sorted(map(str, Path(pyenv_root).glob(f"versions/{version}.*/bin/python{version}")),
                                 reverse=True)
        for candidate in candidates:
            if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
                return candidate
    return None


def _ops(kind: str, quick: bool) -> str:
    full = {"alloc": 1_500_000, "calls": 60}[kind]
    return str(full // 4 if quick else full)


def _checked(cmd: list[str], env: dict[str, str], want_hook: bool) -> measure.Run:
    result = measure.run(cmd, env=env)
    match = _HOOK.search(result.stdout)
    hooked = bool(match and match.group(1) == "on")
    if hooked != want_hook:
        raise measure.ChildFailed(f"the Python-frames hook was {'on' if hooked else 'off'}, expected the opposite"
                                  f" ({result.stderr.strip()[-200:]})")
    return result


def run(installed: Installed, work: Path, *, quick: bool, rounds: int, progress: Callable[[str], None]) -> str:
    python = interpreter()
    if python is None:
        return "### Python frames in heap profiles\n\nNot measured: no Python 3.12 or 3.13 found.\n"
    base = sites.clean_env(os.environ)
    profiles = work / "pyframes-profiles"
    envs = {NATIVE: sites.preload_env(installed.site, base, profile=str(profiles), python_frames=False),
            FRAMES: sites.preload_env(installed.site, base, profile=str(profiles))}
    envs[NATIVE]["PYTHONMALLOC"] = "malloc"  # the same allocator traffic in both rows
    results: dict[str, dict[str, measure.Series]] = {}
    for kind, label in CASES.items():
        progress(f"  Python frames: {label}")
        cmd = [python, str(WORKLOAD), str(installed.site), kind, _ops(kind, quick)]

        def one(name: str, cmd: list[str] = cmd) -> measure.Run:
            return _checked(cmd, envs[name], want_hook=name == FRAMES)

        results[label] = measure.interleaved([NATIVE, FRAMES], rounds, one, progress)
    return render(results, rounds, python)


def render(results: dict[str, dict[str, measure.Series]], rounds: int, python: str) -> str:
    """The table and the two goal lines (pure: unit-tested on made-up runs)."""
    rows = []
    items: list[report.Goal] = []
    for kind, label in CASES.items():
        native, frames = results[label][NATIVE], results[label][FRAMES]
        for name, s in ((NATIVE, native), (FRAMES, frames)):
            if s.error or not s.runs:
                rows.append([label, name, f"fails: {s.error[:80]}", ""])
                continue
            ok = not (native.error or not native.runs)
            loop = f"{s.seconds:.3f}" + (f" ({report.ratio(s.seconds, native.seconds)})" if ok else "")
            process = f"{s.cpu:.3f}" + (f" ({report.ratio(s.cpu, native.cpu)})" if ok else "")
            rows.append([label, name, loop, process])
        value = frames.seconds if frames.runs and not frames.error else float("nan")
        ref = native.seconds if native.runs and not native.error else float("nan")
        items.append((f"Python frames / native only, {label}", value, ref, GOALS[kind], True))
    lines = ["### Python frames in heap profiles", "",
             f"Profiling wheel, default sampling, Python {_version(python)}. Median of {rounds} interleaved rounds; ratio to the native-only"
             " row. Loop CPU excludes interpreter start-up and the hook's one-off layout check; process CPU"
             " includes both.", "",
             report.table(["workload", "contender", "loop CPU s (ratio)", "process CPU s (ratio)"], rows), "",
             *report.goals(items), ""]
    return "\n".join(lines)


def _version(python: str) -> str:
    match = re.search(r"python(3\.\d+)$", python)
    return match.group(1) if match else python
