"""The work behind ``jemalloc-sys run``, ``preload-path`` and ``prof report``.

Each command raises :class:`~jemalloc_sys.errors.JemallocError` subclasses on
failure; :mod:`jemalloc_sys.cli` turns them into one line and an exit code
(:func:`jemalloc_sys.errors.report`), the only place that prints errors.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from . import cpus, preload
from .errors import JemallocError, UsageError
from .prof import build_report, collapsed, format_stacks, format_text, read


class CommandNotFoundError(JemallocError):
    """``run``'s command does not exist (exit 127, as a shell says)."""

    exit_code = 127


class CommandNotExecutableError(JemallocError):
    """``run``'s command is not executable (exit 126, as a shell says)."""

    exit_code = 126


def _arenas(value: str | None) -> str | int | None:
    if value is None or value == "auto":
        return value
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"--arenas={value!r}: use 'auto' or a whole number of arenas, e.g. --arenas 8")
    return int(value)


def run_command(cmd: list[str], *, conf: str | None = None, profile: str | None = None,
                python_malloc: bool = False, service: bool = False, arenas: str | None = None,
                cgroup_root: str = "/sys/fs/cgroup", dry_run: bool = False, python_frames: bool = True) -> int:
    """Replace this process with ``cmd`` running under the preload library (exec keeps PID and signals).

    ``dry_run`` prints what would change, with the reasons, instead; ``service`` prints the
    options it adds in one line on stderr, so that a service's log shows them.
    """
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("no command given; usage: jemalloc-sys run [--conf K:V,...] [--profile DIR] -- CMD ARGS...")
    limit = cpus.limit(cgroup_root=Path(cgroup_root)) if service or arenas == "auto" else None
    run = preload.plan(conf, profile=profile, python_malloc=python_malloc, service=service, arenas=_arenas(arenas),
                       cpu_limit=limit, python_frames=python_frames)
    if dry_run:
        print("\n".join([*run.describe(os.environ), f"exec {shlex.join(cmd)}"]))
        return 0
    if service:
        chosen = ",".join(f"{o.key}:{o.value}" for o in run.options)
        print(f"jemalloc-sys: --service adds MALLOC_CONF {chosen} (narenas: {limit.explain() if limit else ''});"
              " --dry-run explains each", file=sys.stderr)
    env = run.env
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(cmd[0], cmd, env)
    except FileNotFoundError:
        raise CommandNotFoundError(f"command not found: {cmd[0]!r} (from: {shlex.join(cmd)})") from None
    except PermissionError:
        raise CommandNotExecutableError(f"command not executable: {cmd[0]!r}") from None
    return 0  # not reached: exec does not return


def print_preload_path(*, link: str | None = None) -> int:
    """Print the preload library's path; with ``link``, first point that path (a symlink) at it.

    A Dockerfile's ``ENV`` cannot run a command, and the library's path depends on the
    Python version and the site-packages layout; ``RUN jemalloc-sys preload-path --link
    /usr/local/lib/libjemalloc-sys-preload.so`` gives ``ENV LD_PRELOAD`` a fixed value.
    """
    path = preload.preload_path()
    if link is not None:
        target = Path(link)
        if target.exists() and not target.is_symlink():
            raise UsageError(f"--link {link}: a file that is not a symbolic link is there; remove it or pick another path")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        tmp.symlink_to(path)
        os.replace(tmp, target)
    print(path)
    return 0


def prof_report(path: str, *, folded: bool = False, limit: int = 20, stacks: int = 0, svg: str | None = None) -> int:
    """The report of one dump (with its .pymap, when there is one): a table, full stacks or folded stacks."""
    report = build_report(read(path))
    if svg is not None:
        from .prof.flamegraph import write_svg

        write_svg(report, Path(svg), title=f"Heap profile {Path(path).name}")
    try:
        if folded:
            print(collapsed(report))
        elif stacks:
            print(format_stacks(report, limit=stacks))
        else:
            print(format_text(report, limit=limit))
        sys.stdout.flush()
    except BrokenPipeError:
        # `| head` closed the pipe: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
