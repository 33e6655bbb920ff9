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
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import functional, libc
from .errors import StepError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent

Progress = Callable[[str], None]

KEPT_SETTINGS = ("JEMALLOC_SYS_SOURCE", "JEMALLOC_SYS_CACHE_DIR", "JEMALLOC_SYS_NUM_JOBS")
"""Settings that say where things are or how fast to go, not what is built: a release build keeps them."""


def scrubbed_env() -> tuple[str, ...]:
    """Variables that would silently change a published variant; the release build ignores them (and says so).

    Every build setting except :data:`KEPT_SETTINGS` (from the settings table, so a new
    setting is covered without a second list), the runtime variant selector, and pip's
    config settings.
    """
    from jemalloc_build import settings
    from jemalloc_sys import _names

    return (*[name for name in settings.env_names() if name not in KEPT_SETTINGS], _names.VARIANT_ENV,
            "PIP_CONFIG_SETTINGS")


@dataclass(frozen=True, kw_only=True)
class ReleaseTarget:
    """What the wheels are built for: this machine as is, or a ``jemalloc_build.cross`` entry."""

    name: str
    env: dict[str, str]
    wheel_tag: str
    """Expected platform tag after repair ('' for host: whatever auditwheel finds)."""
    linux: bool
    runs_here: bool
    probe: functional.Platform
    """How the functional checks compile and run a program for this target."""
    os: str = ""
    """The target's operating system (``linux``, ``darwin``, ``windows``): which libraries it ships."""

    @property
    def flavours(self) -> list[str]:
        """The libraries a wheel for this target carries (the preload library only where LD_PRELOAD exists)."""
        from jemalloc_build.configure import FLAVOURS

        return [name for name, spec in FLAVOURS.items() if spec.oses is None or self.os in spec.oses]

    @property
    def zig(self) -> bool:
        from jemalloc_build.toolchain import is_zig

        return is_zig(shlex.split(self.env.get("CC", "")))


def default_target_name() -> str:
    """manylinux_2_17 with zig on Linux x86-64/aarch64 (the host glibc is too new for it), else the host."""
    if sys.platform.startswith("linux"):
        machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
        if machine in ("x86_64", "aarch64"):
            return f"manylinux-{machine}"
    return "host"


def resolve_target(name: str, *, tools_dir: Path, python: str) -> ReleaseTarget:
    """The target ``name`` (``host`` or a ``jemalloc_build.cross`` entry), its zig run by ``python``."""
    if name == "host":
        probe = functional.Platform(compiler=shlex.split(os.environ.get("CC", "") or "cc"), runner=[],
                                    windows=sys.platform == "win32")
        host_os = "linux" if sys.platform.startswith("linux") else sys.platform.replace("win32", "windows")
        return ReleaseTarget(name="host", env={}, wheel_tag="", linux=host_os == "linux", runs_here=True,
                             probe=probe, os=host_os)
    from jemalloc_build import cross

    entry = cross.get(name)
    env = cross.environment(entry, tools_dir=tools_dir, python=python)
    runner = cross.runner(entry)
    probe = functional.Platform(compiler=[*cross.compiler_command(entry, python=python), *entry.program_flags],
                                runner=runner,
                                why_not=cross.missing_runtime(entry), windows="windows" in entry.name)
    # Installable here: a manylinux wheel of this machine's architecture (musllinux needs a musl Python).
    installable = entry.wheel_tag.startswith("manylinux") and entry.wheel_tag.endswith("_" + platform.machine())
    from jemalloc_build.platforms import parse_triple

    return ReleaseTarget(name=name, env=env, wheel_tag=entry.wheel_tag, linux="linux" in entry.triple,
                         runs_here=installable, probe=probe, os=parse_triple(entry.triple).os)


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


def build_env(target: ReleaseTarget, *, cache_dir: str, epoch: str, tools_bin: Path) -> dict[str, str]:
    """The environment every step runs in: this one minus the settings a release ignores, plus the target's."""
    env = dict(os.environ)
    for name in scrubbed_env():
        if env.pop(name, None) is not None:
            log.warning("ignoring %s for the release build: variants are defined by jemalloc_build/variants.py", name)
    env.update(target.env)
    env["PATH"] = os.pathsep.join([str(tools_bin), env.get("PATH", "")])
    env["SOURCE_DATE_EPOCH"] = epoch
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if cache_dir:
        env["JEMALLOC_SYS_CACHE_DIR"] = cache_dir
    return env


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
    _raise_on_failure(status, label=label, log_path=log_path)


def _raise_on_failure(status: int, *, label: str, log_path: Path) -> None:
    """A failed step: one line naming it and its log, the log's last 40 lines as detail."""
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


def build_sdist(*, variant: str, out: Path, env: dict[str, str], work: Path, progress: Progress,
                python: Path) -> Path:
    """The sdist of ``variant``'s distribution (the base's, or a companion's from the same tree)."""
    progress(f"sdist {variant}: python -m build --sdist -C variant={variant}")
    dest = work / f"sdist-{variant}"
    dest.mkdir()
    run_logged([str(python), "-m", "build", "--sdist", "--no-isolation", "-C", f"variant={variant}",
                "--outdir", str(dest), str(ROOT)],
               env=env, log_path=work / f"sdist-{variant}.log", progress=progress, label=f"sdist {variant}")
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
    sdist: Path
    seconds: float
    raw_tag: str = ""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return self.path.name.removesuffix(".whl").split("-", 4)[-1]

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def build_wheel(sdist: Path, *, variant: str, env: dict[str, str], work: Path, progress: Progress,
                python: Path, config_settings: tuple[str, ...] = ()) -> Path:
    """``pip wheel <sdist>``: each distribution's wheel from its own sdist, as pip would build it for a user."""
    dest = work / f"raw-{variant}"
    dest.mkdir()
    cmd = [str(python), "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-cache-dir",
           *[arg for setting in config_settings for arg in ("-C", setting)], "-w", str(dest), str(sdist)]
    run_logged(cmd, env=env, log_path=work / f"wheel-{variant}.log", progress=progress, label=f"wheel {variant}",
               cwd=work)
    made = sorted(dest.glob("*.whl"))
    if len(made) != 1:
        raise StepError(f"wheel {variant}: expected one wheel in {dest}, found {[p.name for p in made]}")
    return made[0]


def repair(wheel: Path, *, target: ReleaseTarget, env: dict[str, str], work: Path, progress: Progress, variant: str,
           python: Path) -> Path:
    """auditwheel on Linux (to the target's policy); elsewhere the wheel is final as setuptools tagged it.

    macOS and Windows wheels built here are cross-built: delocate and delvewheel
    run on their own systems in CI (pyproject's ``[tool.cibuildwheel]``).
    """
    if not target.linux:
        return wheel
    progress(f"wheel {variant}: auditwheel repair")
    dest = work / f"repaired-{variant}"
    dest.mkdir()
    cmd = [str(python), "-m", "auditwheel", "repair", "-w", str(dest)]
    cmd += ["--plat", libc.auditwheel_plat(target.wheel_tag), *libc.search_args(target.wheel_tag, fallback=dest)]
    if libc.foreign_libc(target.wheel_tag):
        wheel = _retag_for_libc(wheel, target.wheel_tag, python=python, env=env, work=work, variant=variant,
                                progress=progress)
        cmd += ["--exclude", "libc.so"]  # unsure of that C library's version, auditwheel would graft it
    run_logged([*cmd, str(wheel)], env=env, log_path=work / f"repair-{variant}.log", progress=progress,
               label=f"repair {variant}")
    made = sorted(dest.glob("*.whl"))
    if len(made) != 1:
        raise StepError(f"repair {variant}: expected one wheel in {dest}, found {[p.name for p in made]}")
    return made[0]


def _retag_for_libc(wheel: Path, wheel_tag: str, *, python: Path, env: dict[str, str], work: Path, variant: str,
                    progress: Progress) -> Path:
    """The raw wheel tagged for its C library (``wheel tags``), which auditwheel reads from the file name.

    setuptools tags every Linux wheel ``linux_<arch>``; from that auditwheel assumes this
    machine's C library, and on glibc a musl library's ``libc.so`` is not a system library.
    """
    dest = work / f"retagged-{variant}"
    dest.mkdir()
    copy = dest / wheel.name
    shutil.copy2(wheel, copy)
    run_logged([str(python), "-m", "wheel", "tags", "--remove", "--platform-tag", wheel_tag, str(copy)], env=env,
               log_path=work / f"retag-{variant}.log", progress=progress, label=f"retag {variant}")
    made = sorted(dest.glob("*.whl"))
    if len(made) != 1:
        raise StepError(f"retag {variant}: expected one wheel in {dest}, found {[p.name for p in made]}")
    return made[0]


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="wheel-builder-"))


def timed(fn: Callable[[], Path]) -> tuple[Path, float]:
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


class Warm:
    """``python -m jemalloc_build warm`` in the background: the source tree and zig's runtime, while the sdists are made.

    Both are what every library build needs first; made once, ahead, they overlap the
    sdists (one core) instead of holding up the first builds (jemalloc_build.warm).
    """

    def __init__(self, *, env: dict[str, str], work: Path, python: Path) -> None:
        self.log_path = work / "warm.log"
        self.cmd = [str(python), "-m", "jemalloc_build", "warm"]
        with self.log_path.open("w", encoding="utf-8") as fh:
            fh.write("$ " + " ".join(self.cmd) + "\n")
            fh.flush()
            self.proc = subprocess.Popen(self.cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait(self) -> None:
        """Until it is done; a failure is a step error with the end of its log."""
        _raise_on_failure(self.proc.wait(), label="warm (source tree, zig runtime)", log_path=self.log_path)

    def stop(self) -> None:
        """Ctrl-C or a failed sdist: take the process group down rather than wait for it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()


PREBUILD_CONCURRENCY = 2
"""Libraries built at once by :func:`prebuild`: one's serial configure and link overlap another's compiles."""


def prebuild(sdists: dict[str, Path], *, env: dict[str, str], work: Path, python: Path, flavours: list[str],
             config_settings: tuple[str, ...], progress: Progress) -> float:
    """Build every library of every variant into the builder cache, several at once; returns the seconds taken.

    Each build runs the builder of the variant's own unpacked sdist (``python -m jemalloc_build build
    --flavour F``), with the environment ``pip wheel`` will have, so the wheel builds that follow find
    every library in the cache under the same keys. ``-C`` settings (experiments) are passed as
    their environment variables.
    """
    from concurrent.futures import ThreadPoolExecutor

    from jemalloc_build import settings as settings_mod
    from jemalloc_build.source import safe_extract

    started = time.monotonic()
    extra = _settings_env(config_settings, settings_mod)
    trees: dict[str, Path] = {}
    for variant, sdist in sdists.items():
        tree = work / f"prebuild-{variant}"
        safe_extract(sdist, tree, top=sdist.name.removesuffix(".tar.gz"), origin="sdist")
        (trees[variant],) = [p for p in tree.iterdir() if p.is_dir()]
    # One flavour across the variants, then the next: builds that run side by side differ in their
    # configure arguments, so fewer of them probe from nothing at the same time for the same
    # configure cache (jemalloc_build.configure_cache), and the short debug builds come last.
    jobs = [(variant, flavour, trees[variant]) for flavour in flavours for variant in sdists]

    def one(job: tuple[str, str, Path]) -> None:
        variant, flavour, tree = job
        run_logged([str(python), "-m", "jemalloc_build", "build", "--flavour", flavour], env={**env, **extra},
                   cwd=tree, log_path=work / f"prebuild-{variant}-{flavour}.log", progress=lambda line: None,
                   label=f"build {variant} {flavour}")
        progress(f"libraries: {variant} {flavour} done ({time.monotonic() - started:.0f}s)")

    progress(f"libraries: building {len(jobs)} ({PREBUILD_CONCURRENCY} at a time)")
    with ThreadPoolExecutor(max_workers=PREBUILD_CONCURRENCY) as pool:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()
    return time.monotonic() - started


def _settings_env(config_settings: tuple[str, ...], settings_mod: Any) -> dict[str, str]:
    """``-C key=value`` settings as the environment variables the builder reads (same meaning, same chain)."""
    by_key = {settings_mod.config_key(f): f.metadata["env"] for f in settings_mod.setting_fields()}
    out = {}
    for item in config_settings:
        key, _, value = item.partition("=")
        if key in by_key:
            out[by_key[key]] = value
    return out
