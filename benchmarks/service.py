"""A real gunicorn under each allocator configuration: requests/s, then the workers' PSS under load and idle.

Issue 12. gunicorn (4 sync workers, and separately 4 gthread workers with 4
threads each) serves ``workloads/wsgi_app.py``; ``workloads/loadgen.py`` sends a
fixed number of requests over a fixed number of connections on 127.0.0.1; then
the server idles. The configurations are what a user would run:

- glibc, and glibc with ``MALLOC_ARENA_MAX=2`` (the usual glibc advice);
- ``jemalloc-sys run -- gunicorn ...`` (jemalloc's defaults);
- ``jemalloc-sys run --service -- gunicorn ...`` (the runner's preset: background
  threads, restarted in every fork child by the preload library, 1 s dirty
  decay, no muzzy stage, narenas from the CPU quota).

The runner and the libraries are the wheelhouse's base wheel, installed.
Runs are interleaved round by round like every other section.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import measure, pss, report, sites
from .shipped import Installed

WORKLOADS = Path(__file__).parent / "workloads"
WORKERS = 4
GLIBC = "glibc"
GLIBC_ARENAS = "glibc, MALLOC_ARENA_MAX=2"
JEMALLOC = "jemalloc defaults (`jemalloc-sys run`)"
PRESET = "jemalloc `--service` preset (`jemalloc-sys run --service`)"


@dataclass(frozen=True, kw_only=True)
class Config:
    name: str
    runner: tuple[str, ...] | None
    """``jemalloc-sys`` arguments before ``-- gunicorn ...``; None runs gunicorn directly."""
    env: tuple[tuple[str, str], ...] = ()


CONFIGS = (
    Config(name=GLIBC, runner=None),
    Config(name=GLIBC_ARENAS, runner=None, env=(("MALLOC_ARENA_MAX", "2"),)),
    Config(name=JEMALLOC, runner=("run",)),
    Config(name=PRESET, runner=("run", "--service")),
)
WORKER_CLASSES: dict[str, tuple[str, ...]] = {
    "sync": ("-k", "sync"),
    "gthread": ("-k", "gthread", "--threads", "4"),
}


@dataclass(frozen=True, kw_only=True)
class Plan:
    requests: int
    connections: int
    idle: float
    rounds: int


def plan(quick: bool) -> Plan:
    return Plan(requests=1500 if quick else 6000, connections=8, idle=20.0, rounds=1 if quick else 3)


@dataclass(frozen=True, kw_only=True)
class Sample:
    rps: float
    cpu_ms: float
    """The workers' CPU time (user + system) per request during the load, in ms: steadier than requests/s."""
    pss_start_kb: int
    """Before any request: the interpreter and gunicorn themselves, the floor no allocator goes below."""
    pss_load_kb: int
    pss_idle_kb: int
    workers: int
    errors: int


@dataclass(kw_only=True)
class Outcome:
    samples: list[Sample] = field(default_factory=list)
    error: str = ""

    def median(self, attribute: str) -> float:
        return statistics.median(float(getattr(s, attribute)) for s in self.samples) if self.samples else float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(config: Config, worker_class: str, port: int) -> list[str]:
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), *WORKER_CLASSES[worker_class],
                "-b", f"127.0.0.1:{port}", "--chdir", str(WORKLOADS), "--log-level", "warning",
                "--timeout", "120", "--graceful-timeout", "10", "wsgi_app:app"]
    if config.runner is None:
        return gunicorn
    return [sys.executable, "-m", "jemalloc_sys.cli", *config.runner, "--", *gunicorn]


def _last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines() if log.is_file() else []
    return lines[-1][-160:] if lines else "(no output)"


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 60) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise measure.ChildFailed(f"gunicorn exited {proc.returncode} before serving: {_last_line(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            if len(pss.children(proc.pid)) >= WORKERS:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise measure.ChildFailed(f"gunicorn did not serve on 127.0.0.1:{port} within {timeout:.0f}s")


def _load(port: int, requests: int, connections: int, env: dict[str, str]) -> dict[str, float]:
    """Run the load generator (with glibc: the client is not what is measured) and return its JSON line."""
    proc = subprocess.run([sys.executable, str(WORKLOADS / "loadgen.py"), str(port), str(requests), str(connections),
                           "600"], env=env, capture_output=True, text=True, timeout=700, check=False)
    if proc.returncode != 0:
        raise measure.ChildFailed(f"loadgen exited {proc.returncode}: {proc.stderr.strip()[-200:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the master (graceful shutdown), then make sure nothing of its process group is left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the session we started for it: leftover workers, if any
    except ProcessLookupError:
        pass


def run_one(config: Config, worker_class: str, site: Path, p: Plan, log: Path) -> Sample:
    """Start gunicorn, warm it up, load it, read PSS, idle, read PSS again, stop it."""
    base = sites.clean_env(dict(os.environ))
    client_env = dict(base)
    env = {**base, **dict(config.env), "PYTHONPATH": str(site)}
    port = _free_port()
    with log.open("ab") as err:
        proc = subprocess.Popen(_command(config, worker_class, port), env=env, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True, cwd=tempfile.gettempdir())
    try:
        _wait_ready(proc, port, log)
        start_kb, _ = pss.workers_pss_kb(proc.pid)
        _load(port, 4 * p.connections, p.connections, client_env)  # warm-up: imports, first allocations
        cpu_before = pss.workers_cpu_seconds(proc.pid)
        result = _load(port, p.requests, p.connections, client_env)
        cpu = pss.workers_cpu_seconds(proc.pid) - cpu_before
        load_kb, workers = pss.workers_pss_kb(proc.pid)
        time.sleep(p.idle)
        idle_kb, _ = pss.workers_pss_kb(proc.pid)
        if proc.poll() is not None:
            raise measure.ChildFailed(f"gunicorn exited {proc.returncode} during the run")
    finally:
        _stop(proc)
    return Sample(rps=result["requests"] / result["seconds"], cpu_ms=1000 * cpu / max(result["requests"], 1),
                  pss_start_kb=start_kb, pss_load_kb=load_kb, pss_idle_kb=idle_kb,
                  workers=workers, errors=int(result["errors"]))


def run(installed: Installed, work: Path, *, quick: bool,
        progress: Callable[[str], None]) -> tuple[dict[str, dict[str, Outcome]], Plan, str]:
    """worker class -> configuration -> outcome; the plan; what ``--service`` said it added."""
    p = plan(quick)
    log = work / "gunicorn-stderr.log"
    runs = [(wc, c) for wc in WORKER_CLASSES for c in CONFIGS]
    results = {wc: {c.name: Outcome() for c in CONFIGS} for wc in WORKER_CLASSES}
    for r in range(p.rounds):
        for wc, config in measure.rotated(runs, r):
            outcome = results[wc][config.name]
            if outcome.error:
                continue
            progress(f"  service round {r + 1}/{p.rounds}: {wc}: {config.name}")
            try:
                outcome.samples.append(run_one(config, wc, installed.site, p, log))
            except (measure.ChildFailed, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
                outcome.error = str(exc)
                progress(f"    failed: {exc}")
    said = next((line.strip() for line in log.read_text(errors="replace").splitlines()
                 if "--service adds" in line), "") if log.is_file() else ""
    return results, p, said


def _mb(kb: float) -> str:
    return f"{kb / 1024:.0f}"


def losses(by_config: dict[str, Outcome], p: Plan) -> list[str]:
    """Bullets for every measure where a jemalloc configuration does worse than glibc's defaults."""
    glibc = by_config[GLIBC]
    found = []
    for name in (JEMALLOC, PRESET):
        o = by_config[name]
        if not o.samples or not glibc.samples:
            continue
        if o.median("rps") < glibc.median("rps"):
            found.append(f"- {name}: {report.ratio(o.median('rps'), glibc.median('rps'))} glibc's requests/s.")
        if o.median("cpu_ms") > 1.005 * glibc.median("cpu_ms"):
            found.append(f"- {name}: {report.ratio(o.median('cpu_ms'), glibc.median('cpu_ms'))} glibc's CPU time per"
                         " request.")
        for attr, when in (("pss_load_kb", "at the end of the load"), ("pss_idle_kb", f"after {p.idle:.0f} s idle")):
            if o.median(attr) > glibc.median(attr):
                found.append(f"- {name}: PSS {when} {_mb(o.median(attr))} MB against glibc's"
                             f" {_mb(glibc.median(attr))} MB ({report.ratio(o.median(attr), glibc.median(attr))}).")
    return found or ["- nowhere in this table."]


def render(results: dict[str, dict[str, Outcome]], p: Plan, preset_line: str) -> str:
    lines = ["### Service: gunicorn under each allocator", "",
             f"gunicorn {WORKERS} workers serving `benchmarks/workloads/wsgi_app.py` (JSON bodies, per-request buffers"
             " of 64 B-256 KiB, a per-worker cache that grows, is dropped when full and when idle);"
             f" `benchmarks/workloads/loadgen.py` sends {p.requests} requests over {p.connections} connections"
             f" on 127.0.0.1, then the server idles {p.idle:.0f} s. Median of {p.rounds} interleaved round(s)."
             " Memory is the sum of the workers' PSS (`/proc/PID/smaps_rollup`), not RSS. Requests/s is wall-clock"
             " throughput, which a busy machine moves a lot; the workers' CPU time per request is its steadier"
             " companion.", ""]
    if preset_line:
        lines += [f"The preset, as the runner printed it: `{preset_line}`", ""]
    for wc, by_config in results.items():
        glibc, jem = by_config[GLIBC], by_config[JEMALLOC]
        rows = []
        for name, o in by_config.items():
            if o.error or not o.samples:
                rows.append([name, f"fails: {o.error[:80]}"])
                continue
            errors = sum(s.errors for s in o.samples)
            cells = []
            for attr, show in (("rps", f"{o.median('rps'):.0f}"), ("cpu_ms", f"{o.median('cpu_ms'):.2f}"),
                               ("pss_start_kb", _mb(o.median("pss_start_kb"))),
                               ("pss_load_kb", _mb(o.median("pss_load_kb"))),
                               ("pss_idle_kb", _mb(o.median("pss_idle_kb")))):
                value = o.median(attr)
                cells.append(f"{show} ({report.ratio(value, glibc.median(attr))} glibc,"
                             f" {report.ratio(value, jem.median(attr))} jemalloc defaults)")
            if errors:
                cells[0] += f", {errors} failed requests"
            rows.append([name, *cells])
        lines += [f"#### {wc} workers" + (" (4 threads each)" if wc == "gthread" else ""), "",
                  report.table(["configuration", "requests/s", "workers' CPU ms per request", "workers' PSS MB before the load",
                                "workers' PSS MB at the end of the load",
                                f"workers' PSS MB after {p.idle:.0f} s idle"], rows), ""]
        lines += ["Where jemalloc loses to glibc here:", "", *losses(by_config, p), ""]
        preset = by_config[PRESET]
        lines += report.goals([
            ("idle PSS, preset / glibc", preset.median("pss_idle_kb"), glibc.median("pss_idle_kb"), 0.5, True),
            ("idle PSS, preset / jemalloc defaults", preset.median("pss_idle_kb"), jem.median("pss_idle_kb"), 0.5, True),
            ("requests/s, preset / glibc", preset.median("rps"), glibc.median("rps"), 0.95, False),
        ])
        lines.append("")
    return "\n".join(lines)
