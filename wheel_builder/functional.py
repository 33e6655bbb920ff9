"""Functional checks of shipped libraries: turn each feature on and see it work.

Reading ``config.prof`` says a library was *built* with profiling; it does not say
that profiling works. The zig-built profiling wheels once crashed every process that
turned profiling on (issue 10) while every check that only read ``config.*`` passed.
So for every library a wheel ships (in-process and preload), a small C program,
``probes/jemalloc_probe.c``, uses the library as a program would, one check per fresh
process (a crash fails that check, not the run):

- ``prof``: allocate 16 MiB in ``probe_site()``, dump a heap profile; our report
  (:mod:`jemalloc_sys.prof`) and, where it can run, the shipped ``jeprof`` must both
  charge those bytes to ``probe_site``;
- ``stats``: ``stats.allocated`` rises by 64 MiB while a 64 MiB block is held;
- ``background``: ``background_thread`` turns on and a thread appears;
- ``fork``: a child forked while four threads allocate allocates and exits cleanly;
  from the preload library, background threads (on in the parent) run in the child too.

The probe is compiled for the wheel's platform (the host compiler, or zig for cross
targets) and run natively or under the target's emulator (qemu-user, wine); checks
that cannot run there are reported as skipped with the reason. This module needs only
the standard library and :mod:`jemalloc_sys.prof`, so cibuildwheel's test command
(``tests/programs/wheel_smoke.py``) runs the same checks on CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROBE_SOURCE = Path(__file__).resolve().parent / "probes" / "jemalloc_probe.c"
PROBE_SITE = "probe_site"
PROBE_BYTES = 16 << 20
STATS_BYTES = 64 << 20
TIMEOUT = 120.0
"""Seconds one probe may take (qemu is slow; a hang is a failure, not a stall)."""

Check = tuple[str, bool, str]


@dataclass(frozen=True, kw_only=True)
class Library:
    """One shipped library: where it is, how its symbols are named, what it was built with."""

    flavour: str
    path: Path
    prefix: str
    features: frozenset[str]

    @property
    def conf_var(self) -> str:
        """The environment variable this library reads its options from (``_RJEM_MALLOC_CONF``, ``MALLOC_CONF``)."""
        return f"{self.prefix.upper()}MALLOC_CONF"


@dataclass(frozen=True, kw_only=True)
class Platform:
    """How to make and run a probe for the libraries' platform."""

    compiler: Sequence[str]
    runner: Sequence[str] | None
    """Command prefix that runs a target program ([] natively); None when nothing here can."""
    why_not: str = ""
    windows: bool = False

    @property
    def qemu(self) -> bool:
        return bool(self.runner) and "qemu" in Path(self.runner[0]).name if self.runner else False


def libraries(package_dir: Path) -> list[Library]:
    """The libraries of an installed or unpacked package folder, from its build record."""
    from jemalloc_sys import _names

    record = json.loads((package_dir / _names.RECORD_NAME).read_text(encoding="utf-8"))
    found = [Library(flavour="inprocess", path=package_dir / "lib" / record["library"],
                     prefix=record["symbol_prefix"], features=frozenset(record["features"]))]
    preload = record.get("preload")
    if preload:
        found.append(Library(flavour="preload", path=package_dir / "lib" / preload["library"],
                             prefix=preload["symbol_prefix"], features=frozenset(preload["features"])))
    return found


def compile_probe(platform: Platform, workdir: Path) -> Path:
    """Build the probe for the platform; raises ``subprocess.CalledProcessError`` with the compiler's output."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / ("jemalloc_probe.exe" if platform.windows else "jemalloc_probe")
    libs = [] if platform.windows else ["-ldl", "-pthread"]
    subprocess.run([*platform.compiler, "-O2", "-g0", "-o", str(out), str(PROBE_SOURCE), *libs],
                   check=True, capture_output=True, text=True, timeout=600)
    return out


def _run(platform: Platform, probe: Path, library: Library, args: list[str],
         extra_env: Mapping[str, str]) -> tuple[dict[str, object] | None, str]:
    """Run one probe check; returns its JSON (None when it died) and a description of how it ended."""
    assert platform.runner is not None
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF", "_RJEM_MALLOC_CONF")}
    guest = dict(extra_env)
    if library.flavour == "preload":
        guest["LD_PRELOAD"] = str(library.path)
    cmd = [*platform.runner]
    if platform.qemu and "LD_PRELOAD" in guest:
        # LD_PRELOAD must reach the emulated program, not qemu itself: qemu's -E sets it in the guest only.
        # Everything else is inherited through qemu's own environment, because -E splits its value at
        # commas and would cut "prof:true,lg_prof_sample:0" in two (and then refuse the second half).
        cmd += ["-E", f"LD_PRELOAD={guest.pop('LD_PRELOAD')}"]
    env.update(guest)
    cmd += [str(probe), str(library.path), library.prefix, *args]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT:.0f}s (deadlock?)"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode < 0 or (proc.returncode != 0 and not lines):
        import signal

        how = (f"killed by {signal.Signals(-proc.returncode).name}" if proc.returncode < 0
               else f"exit {proc.returncode}")
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
        return None, f"the probe died ({how}){': ' + tail if tail else ''}"
    try:
        doc: dict[str, object] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return None, f"no result from the probe (exit {proc.returncode}): {proc.stdout[-200:]!r}"
    if doc.get("ok") is False and "error" in doc:  # it could not even start the check (no library, no symbol)
        return None, f"the probe could not run the check (exit {proc.returncode}): {doc['error']}"
    return doc, f"exit {proc.returncode}"


def _mb(value: float) -> str:
    return f"{value / 1048576:.1f} MB"


def _jeprof_site_bytes(jeprof: Path, probe: Path, dump: Path) -> tuple[float | None, str]:
    """``jeprof --text`` on the dump: the flat bytes of the probe's site, or why it could not say."""
    proc = subprocess.run(["perl", str(jeprof), "--text", str(probe), str(dump)], capture_output=True, text=True,
                          timeout=300)
    for line in proc.stdout.splitlines():
        words = line.split()
        if len(words) >= 6 and words[-1] == PROBE_SITE:
            return float(words[0]) * 1048576, "jeprof"
    return None, f"jeprof named no {PROBE_SITE} (exit {proc.returncode}): {proc.stdout[:200]!r}"


def _jeprof_unavailable(jeprof: Path | None, platform: Platform) -> str:
    if jeprof is None or not jeprof.is_file():
        return "this wheel ships no jeprof"
    if platform.runner != []:
        return "jeprof reads the target's binaries with this machine's binutils: native platforms only"
    missing = [tool for tool in ("perl", "addr2line", "nm") if shutil.which(tool) is None]
    return f"{', '.join(missing)} not on PATH" if missing else ""


def check_prof(platform: Platform, probe: Path, library: Library, workdir: Path, jeprof: Path | None) -> Check:
    from jemalloc_sys.prof import build_report, read

    name = f"prof ({library.flavour})"
    dump = workdir / f"{library.flavour}-{os.getpid()}.heap"
    result, how = _run(platform, probe, library, ["prof", str(dump)],
                       {library.conf_var: "prof:true,lg_prof_sample:0"})
    if result is None or not result.get("ok"):
        return name, False, f"profiling on: {how} {result or ''}".strip()
    report = build_report(read(dump))
    ours = next((row.flat for row in report.rows if row.function == PROBE_SITE), 0.0)
    ok = PROBE_BYTES * 0.99 <= ours <= PROBE_BYTES * 1.01
    detail = f"our report: {PROBE_SITE} {_mb(ours)} of {_mb(PROBE_BYTES)} allocated there"
    why_not = _jeprof_unavailable(jeprof, platform)
    if why_not:
        detail += f"; jeprof skipped: {why_not}"
    else:
        assert jeprof is not None
        theirs, said = _jeprof_site_bytes(jeprof, probe, dump)
        if theirs is None:
            ok, detail = False, f"{detail}; {said}"
        else:
            ok = ok and PROBE_BYTES * 0.99 <= theirs <= PROBE_BYTES * 1.01
            detail += f"; jeprof: {_mb(theirs)}"
    return name, ok, detail


def check_stats(platform: Platform, probe: Path, library: Library, workdir: Path, jeprof: Path | None) -> Check:
    name = f"stats ({library.flavour})"
    result, how = _run(platform, probe, library, ["stats"], {})
    if result is None:
        return name, False, how
    before, during, after = (int(str(result[k])) for k in ("before", "during", "after"))
    grew = during - before
    ok = STATS_BYTES <= grew <= STATS_BYTES + (1 << 20) and after < during
    return name, ok, f"stats.allocated {before} -> {during} (+{_mb(grew)} for a {_mb(STATS_BYTES)} block) -> {after}"


def check_background(platform: Platform, probe: Path, library: Library, workdir: Path,
                     jeprof: Path | None) -> Check:
    name = f"background thread ({library.flavour})"
    result, how = _run(platform, probe, library, ["background"], {})
    if result is None:
        return name, False, how
    return (name, bool(result.get("ok")),
            f"background_thread={str(result.get('background_thread')).lower()}, threads"
            f" {result.get('threads_before')} -> {result.get('threads_after')}")


def check_fork(platform: Platform, probe: Path, library: Library, workdir: Path, jeprof: Path | None) -> Check:
    name = f"fork ({library.flavour})"
    result, how = _run(platform, probe, library, ["fork"], {})
    if result is None:
        return name, False, how
    if not result.get("ok"):
        return name, False, f"child status {result.get('child_status')}, signal {result.get('signal')}"
    detail = "child forked while 4 threads allocate: allocated from a new thread, exit 0"
    if library.flavour == "preload" and result.get("parent_background"):
        # csrc/fork_background.c: the preload library restarts background threads in fork children.
        if not result.get("child_background"):
            return name, False, f"{detail}; but its background thread did not come back"
        detail += "; its background thread came back"
    return name, True, detail


CheckFunction = Callable[[Platform, Path, Library, Path, Path | None], Check]


@dataclass(frozen=True, kw_only=True)
class Spec:
    """One functional check: the feature it needs and whether it needs POSIX (fork, /proc)."""

    name: str
    feature: str | None
    posix: bool
    run: CheckFunction


SPECS: tuple[Spec, ...] = (
    Spec(name="prof", feature="profiling", posix=False, run=check_prof),
    Spec(name="stats", feature="stats", posix=False, run=check_stats),
    Spec(name="background", feature="background_threads_runtime_support", posix=True, run=check_background),
    Spec(name="fork", feature=None, posix=True, run=check_fork),
)


def jeprof_for(library: Library, bin_dir: Path | None, flavours: int) -> Path | None:
    """The shipped jeprof that reads this library's dumps (``jeprof``, or ``jeprof-inprocess`` beside a preload)."""
    if bin_dir is None:
        return None
    name = "jeprof-inprocess" if library.flavour == "inprocess" and flavours > 1 else "jeprof"
    return bin_dir / name if (bin_dir / name).is_file() else None


def run_checks(libs: Sequence[Library], platform: Platform, *, workdir: Path | None = None,
               bin_dir: Path | None = None) -> tuple[list[Check], list[str]]:
    """Every applicable check for every library; returns (checks, skipped-with-reason lines).

    ``bin_dir`` is the package's ``bin/`` folder, where the profiling variants keep jeprof.
    """
    skipped: list[str] = []
    if platform.runner is None:
        return [], [f"functional checks: {platform.why_not or 'nothing here runs this platform'}"]
    workdir = workdir or Path(tempfile.mkdtemp(prefix="jemalloc-probe-"))
    try:
        probe = compile_probe(platform, workdir)
    except (OSError, subprocess.CalledProcessError) as exc:
        output = getattr(exc, "stderr", "") or str(exc)
        return [("probe", False, f"cannot compile the probe: {output.strip()[-300:]}")], skipped
    checks: list[Check] = []
    for library in libs:
        for spec in SPECS:
            if spec.feature is not None and spec.feature not in library.features:
                continue
            if spec.posix and platform.windows:
                skipped.append(f"{spec.name} ({library.flavour}): needs POSIX (fork, /proc)")
                continue
            checks.append(spec.run(platform, probe, library, workdir, jeprof_for(library, bin_dir, len(libs))))
    return checks, skipped
