"""The release steps: sdist once, each variant's wheel from it, repair.

Every build runs through the real clients (``python -m build``, ``pip wheel``,
``auditwheel``) and our in-tree backend, which calls the one builder
(``jemalloc_build.build.build_jemalloc``); nothing here compiles anything.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent

Progress = Callable[[str], None]

SCRUBBED_ENV = ("JEMALLOC_SYS_FEATURES", "JEMALLOC_SYS_BUILD_VARIANT", "JEMALLOC_SYS_VARIANT", "JEMALLOC_OVERRIDE",
                "JEMALLOC_SYS_WITH_MALLOC_CONF", "JEMALLOC_SYS_WITH_LG_PAGE", "JEMALLOC_SYS_WITH_LG_HUGEPAGE",
                "JEMALLOC_SYS_WITH_LG_QUANTUM", "JEMALLOC_SYS_WITH_LG_VADDR", "JEMALLOC_SYS_TARGET", "PIP_CONFIG_SETTINGS")
"""Settings that would silently change a published variant; the release build ignores them (and says so)."""


class StepError(RuntimeError):
    """A step failed; the message is one line, ``detail`` the tail of its log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True, kw_only=True)
class Target:
    """What the wheels are built for: this machine as is, or a ``jemalloc_build.cross`` entry."""

    name: str
    env: dict[str, str]
    wheel_tag: str
    """Expected platform tag after repair ('' for host: whatever auditwheel finds)."""
    linux: bool
    runs_here: bool

    @property
    def zig(self) -> bool:
        return "ziglang" in self.env.get("CC", "")


def default_target_name() -> str:
    """manylinux_2_17 with zig on Linux x86-64/aarch64 (the host glibc is too new for it), else the host."""
    if sys.platform.startswith("linux"):
        machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
        if machine in ("x86_64", "aarch64"):
            return f"manylinux-{machine}"
    return "host"


def resolve_target(name: str, *, tools_dir: Path) -> Target:
    if name == "host":
        return Target(name="host", env={}, wheel_tag="", linux=sys.platform.startswith("linux"), runs_here=True)
    from jemalloc_build import cross

    entry = cross.get(name)
    env = cross.environment(entry, tools_dir=tools_dir)
    return Target(name=name, env=env, wheel_tag=entry.wheel_tag, linux="linux" in entry.triple,
                  runs_here=cross.runner(entry) == [])


def sdist_epoch(sdist: Path) -> str:
    """SOURCE_DATE_EPOCH for wheels built from ``sdist``: its PKG-INFO's time, so the same sdist gives the same wheels."""
    import tarfile

    with tarfile.open(sdist) as archive:
        info = next((m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")), None)
    if info is None:
        raise StepError(f"{sdist.name} has no PKG-INFO at its top level; is it an sdist?")
    return str(max(int(info.mtime), 315532800))


def source_date_epoch() -> str:
    """SOURCE_DATE_EPOCH for the sdist: the caller's, else the last commit's time, else 1980 (zip's epoch)."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return os.environ["SOURCE_DATE_EPOCH"]
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True,
                             timeout=30)
        if out.returncode == 0 and out.stdout.strip().isdigit():
            return out.stdout.strip()
    except OSError:
        pass
    return "315532800"


def build_env(target: Target, *, cache_dir: str, epoch: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in SCRUBBED_ENV:
        if env.pop(name, None) is not None:
            log.warning("ignoring %s for the release build: variants are defined by jemalloc_build/variants.py", name)
    env.update(target.env)
    if target.zig and target.linux:
        # zig compiles its own glibc shim (libc_nonshared's atexit.c) with DWARF whose
        # DW_AT_comp_dir is the build folder: a leaked path, and a random one (the
        # builder's scratch folder), so no two builds would be byte-identical.
        # Our own objects carry no DWARF (-g0) except in the debug variant, where
        # jemalloc's assertions, not a debugger, are the point.
        env["LDFLAGS"] = f"{env.get('LDFLAGS', '')} -Wl,--strip-debug".strip()
    env["SOURCE_DATE_EPOCH"] = epoch
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if cache_dir:
        env["JEMALLOC_SYS_CACHE_DIR"] = cache_dir
    return env


def variant_env(env: dict[str, str], target: Target, features: tuple[str, ...]) -> dict[str, str]:
    """The build environment of one variant: the debug variant built by zig gets no UBSan.

    jemalloc's debug build compiles without optimization, and zig cc then turns on
    UBSan and links its runtime: a different allocator from the one the variant
    promises (jemalloc's own assertions), and one whose type descriptors spell out
    the build folder.
    """
    if not (target.zig and "debug" in features):
        return env
    return {**env, "CFLAGS": f"{env.get('CFLAGS', '')} -fno-sanitize=undefined".strip()}


_UNIT = re.compile(r"\[\s*(\d+)/(\d+)\]\s+(\S+)")
_PHASE = re.compile(r"jemalloc \S+ \((\w+)\): (configuring|\$ |built|reusing)")


def run_logged(cmd: list[str], *, env: dict[str, str], log_path: Path, progress: Progress, label: str,
               cwd: Path | None = None) -> None:
    """Run ``cmd`` with its output in ``log_path``; turn the builder's lines into progress; raise on failure."""
    with log_path.open("w", encoding="utf-8") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", start_new_session=True)
        try:
            status = _follow(proc, fh, progress, label)
        except BaseException:
            # Ctrl-C or SIGTERM: take pip, the backend and make down with us.
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
    if status != 0:
        tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
        raise StepError(f"{label} failed (exit {status}); full log: {log_path}", detail=tail)


def _follow(proc: subprocess.Popen[str], fh: TextIO, progress: Progress, label: str) -> int:
    assert proc.stdout is not None
    flavour = ""
    for line in proc.stdout:
        fh.write(line)
        phase = _PHASE.search(line)
        if phase:
            flavour = phase.group(1)
            word = {"$ ": "make", "configuring": "configure"}.get(phase.group(2), phase.group(2))
            progress(f"{label}: {flavour} library: {word}")
        unit = _UNIT.search(line)
        if unit:
            progress(f"{label}: {flavour} library: compiling {unit.group(1)}/{unit.group(2)} {unit.group(3)}")
    return proc.wait()


def build_sdist(*, out: Path, env: dict[str, str], work: Path, progress: Progress) -> Path:
    progress("sdist: python -m build --sdist")
    dest = work / "sdist"
    dest.mkdir()
    run_logged([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(dest), str(ROOT)],
               env=env, log_path=work / "sdist.log", progress=progress, label="sdist")
    made = sorted(dest.glob("*.tar.gz"))
    if len(made) != 1:
        raise StepError(f"sdist: expected one .tar.gz in {dest}, found {[p.name for p in made]}")
    final = out / made[0].name
    shutil.copyfile(made[0], final)
    return final


@dataclass(kw_only=True)
class Built:
    variant: str
    distribution: str
    path: Path
    seconds: float
    raw_tag: str = ""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return self.path.name.removesuffix(".whl").split("-", 4)[-1]

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def build_wheel(sdist: Path, *, variant: str, env: dict[str, str], work: Path, progress: Progress) -> Path:
    """``pip wheel <sdist> -C variant=<name>``: the same sdist makes every distribution."""
    dest = work / f"raw-{variant}"
    dest.mkdir()
    cmd = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-cache-dir",
           "-C", f"variant={variant}", "-w", str(dest), str(sdist)]
    run_logged(cmd, env=env, log_path=work / f"wheel-{variant}.log", progress=progress, label=f"wheel {variant}",
               cwd=work)
    made = sorted(dest.glob("*.whl"))
    if len(made) != 1:
        raise StepError(f"wheel {variant}: expected one wheel in {dest}, found {[p.name for p in made]}")
    return made[0]


def repair(wheel: Path, *, target: Target, env: dict[str, str], work: Path, progress: Progress, variant: str) -> Path:
    """auditwheel on Linux (to the target's policy); elsewhere the wheel is final as setuptools tagged it.

    macOS and Windows wheels built here are cross-built: delocate and delvewheel
    run on their own systems in CI (pyproject's ``[tool.cibuildwheel]``).
    """
    if not target.linux:
        return wheel
    progress(f"wheel {variant}: auditwheel repair")
    dest = work / f"repaired-{variant}"
    dest.mkdir()
    cmd = [sys.executable, "-m", "auditwheel", "repair", "-w", str(dest)]
    if target.wheel_tag.endswith("_" + platform.machine()):
        cmd += ["--plat", target.wheel_tag]
    else:
        # auditwheel offers --plat choices for this machine's architecture only; for a
        # foreign one "auto" picks the policy from the wheel, and verify checks the tag.
        cmd += ["--plat", "auto"]
    run_logged([*cmd, str(wheel)], env=env, log_path=work / f"repair-{variant}.log", progress=progress,
               label=f"repair {variant}")
    made = sorted(dest.glob("*.whl"))
    if len(made) != 1:
        raise StepError(f"repair {variant}: expected one wheel in {dest}, found {[p.name for p in made]}")
    return made[0]


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="wheel-builder-"))


def timed(fn: Callable[[], Path]) -> tuple[Path, float]:
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started
