"""Python services under ``jemalloc-sys run``: prefork workers, containers' CPU quotas, signals.

Issue 12. jemalloc stops background threads in every fork child; the preload
library brings them back (``jemalloc_build/csrc/fork_background.c``), so each
gunicorn worker purges in the background. Checked from outside (the worker's
thread named ``jemalloc_bg_thd``) and from inside (a request answered by the
worker). The CPU quota tests point the runner at fake cgroup files, and at a real
cgroup where this machine lets us make one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CLI, PROGRAMS, last_json, program, run_cli, run_program

pytestmark = [pytest.mark.build,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preload runner is Linux-only")]


CWD = tempfile.gettempdir()
"""Children run outside the checkout, whose unbuilt jemalloc_sys would shadow the package under test."""


@pytest.fixture(scope="module")
def site(default_package: Path) -> Path:
    return default_package


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF", "PYTHONMALLOC")}
    env["PYTHONPATH"] = str(site)
    return env


def _runner(*args: str) -> list[str]:
    return [*CLI, "run", *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return found


def _bg_threads(pid: int) -> int:
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            count += (task / "comm").read_text().strip().startswith("jemalloc_bg_thd")
        except OSError:
            continue
    return count


class Gunicorn:
    """A real gunicorn serving tests/programs/service_app.py on 127.0.0.1."""

    def __init__(self, cmd_prefix: list[str], env: dict[str, str], workers: int) -> None:
        pytest.importorskip("gunicorn", reason="gunicorn is in ci/requirements-test.txt")
        self.port = _free_port()
        self.workers = workers
        cmd = [*cmd_prefix, sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
               "--chdir", str(PROGRAMS), "--graceful-timeout", "5", "service_app:app"]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     cwd=CWD)
        until = time.monotonic() + 60
        while len(_children(self.proc.pid)) < workers or not self._answers():
            if time.monotonic() > until or self.proc.poll() is not None:
                self.stop()
                pytest.fail(f"gunicorn did not start: {self.proc.stdout.read() if self.proc.stdout else ''}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            self.request()
        except OSError:
            return False
        return True

    def request(self) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=10) as response:
            data: dict[str, object] = json.loads(response.read())
            return data

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server; returns its exit status (its output is then in :attr:`output`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.output, _ = self.proc.communicate(timeout=30)
            return self.proc.returncode
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.communicate()

    output = ""


@pytest.fixture
def gunicorn_factory() -> Iterator[Callable[..., Gunicorn]]:
    started: list[Gunicorn] = []

    def start(cmd_prefix: list[str], env: dict[str, str], workers: int = 3) -> Gunicorn:
        server = Gunicorn(cmd_prefix, env, workers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(signal.SIGKILL)


def test_every_gunicorn_worker_runs_a_background_thread(site: Path,
                                                        gunicorn_factory: Callable[..., Gunicorn]) -> None:
    server = gunicorn_factory(_runner("--conf", "background_thread:true", "--"), _env(site), workers=3)
    workers = _children(server.proc.pid)
    assert len(workers) == 3
    for _ in range(50):  # each worker's thread starts at its first allocation after the fork
        if all(_bg_threads(pid) >= 1 for pid in workers):
            break
        time.sleep(0.1)
    assert [_bg_threads(pid) for pid in workers] == [1, 1, 1]
    answers = [server.request() for _ in range(6)]
    assert {a["pid"] for a in answers} <= set(workers)
    assert all(a["background_thread"] is True and "jemalloc_bg_thd" in a["threads"] for a in answers), answers


def test_without_the_runner_nothing_changes(site: Path, gunicorn_factory: Callable[..., Gunicorn]) -> None:
    server = gunicorn_factory([], _env(site), workers=2)
    workers = _children(server.proc.pid)
    time.sleep(0.5)
    assert [_bg_threads(pid) for pid in workers] == [0, 0]
    assert server.request()["background_thread"] is None  # glibc's malloc: no process allocator to ask


def test_an_os_fork_child_gets_its_background_thread_back(site: Path) -> None:
    proc = run_cli(site, "run", "--conf", "background_thread:true", "--", sys.executable,
                   str(program("fork_background.py")), env=_env(site), timeout=120, cwd=Path(CWD))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"parent": [True, 1], "child": [True, 1]}


def test_sigterm_reaches_the_server_and_its_exit_status_comes_back(
        site: Path, gunicorn_factory: Callable[..., Gunicorn]) -> None:
    """The Docker pattern ENTRYPOINT ["jemalloc-sys", "run", "--", ...]: exec keeps the PID, signals arrive."""
    server = gunicorn_factory(_runner("--"), _env(site), workers=2)
    cmdline = Path(f"/proc/{server.proc.pid}/cmdline").read_bytes().split(b"\0")
    assert b"gunicorn" in cmdline  # the runner's own PID is now the server
    assert server.stop(signal.SIGTERM) == 0
    assert "Shutting down: Master" in server.output
    status = subprocess.run(_runner("--", sys.executable, "-c", "raise SystemExit(7)"), env=_env(site),
                            timeout=60, cwd=CWD).returncode
    assert status == 7


@pytest.mark.parametrize(("cpu_max", "arenas", "why"), [
    ("50000 100000", 4, "cgroup CPU quota 0.5"),
    ("200000 100000", 8, "cgroup CPU quota 2"),
    ("max 100000", 4 * len(os.sched_getaffinity(0)), "affinity mask; no cgroup CPU quota"),
])
def test_the_dry_run_shows_the_arena_count_from_a_fake_cgroup(site: Path, tmp_path: Path, cpu_max: str,
                                                              arenas: int, why: str) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu\n")
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    proc = run_cli(site, "run", "--dry-run", "--service", "--cgroup-root", str(tmp_path), "--", "gunicorn", "app:app",
                   env=_env(site), timeout=60, cwd=Path(CWD))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    conf = next(line for line in lines if line.startswith("MALLOC_CONF="))
    assert conf == f"MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:{arenas}"
    reason = next(line for line in lines if line.strip().startswith("narenas:"))
    assert why in reason and f"{arenas} = 4 x" in reason
    assert lines[-1] == "exec gunicorn app:app"


def test_the_arena_count_in_a_real_cgroup(site: Path) -> None:
    """Where this machine allows it (root, cgroup v1 cpu controller): a 0.5-CPU cgroup gives 4 arenas."""
    group = Path("/sys/fs/cgroup/cpu") / f"jemalloc-sys-test-{os.getpid()}"
    if os.geteuid() != 0 or not Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").is_file():
        pytest.skip("needs root and a cgroup v1 cpu controller at /sys/fs/cgroup/cpu to make a real cgroup")
    try:
        group.mkdir()
        (group / "cpu.cfs_quota_us").write_text("50000\n")
    except OSError as exc:
        pytest.skip(f"cannot make a cgroup here: {exc}")
    try:
        script = f"echo $$ > {group}/cgroup.procs && exec \"$@\""
        proc = subprocess.run(["sh", "-c", script, "sh", *_runner("--dry-run", "--arenas", "auto", "--", "true")],
                              env=_env(site), capture_output=True, text=True, timeout=60, cwd=CWD)
    finally:
        time.sleep(0.1)
        group.rmdir()
    assert proc.returncode == 0, proc.stderr
    assert "MALLOC_CONF=narenas:4" in proc.stdout
    assert f"{group}/cpu.cfs_quota_us" in proc.stdout


def test_a_stable_preload_path_for_dockerfiles(site: Path, tmp_path: Path) -> None:
    link = tmp_path / "usr" / "local" / "lib" / "libjemalloc-sys-preload.so"
    proc = run_cli(site, "preload-path", "--link", str(link), env=_env(site), timeout=60, cwd=Path(CWD))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and link.resolve() == Path(proc.stdout.strip()).resolve()
    env = {**_env(site), "LD_PRELOAD": str(link), "MALLOC_CONF": "narenas:3"}
    check = run_program(None, "process_allocator_report.py", env=env, cwd=tmp_path, check=False, timeout=60)
    assert check.returncode == 0 and last_json(check.stdout)["narenas"] == 3, check.stderr
    shutil.rmtree(tmp_path / "usr")
