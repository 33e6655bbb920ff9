"""Running configure and make with their output in a log, and showing the part of a log that matters.

A failed build ends with one line for the user plus the end of the relevant log
(all of it under ``CI``), the way the crate's ``build.rs`` prints ``config.log``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

Reporter = Callable[[str], None]


_JOBSERVER_FDS = re.compile(r"--jobserver-(?:auth|fds)=(\d+),(\d+)")


def jobserver_fds(env: Mapping[str, str]) -> tuple[int, ...]:
    """The pipe of a parent make's jobserver named in ``MAKEFLAGS`` (GNU make < 4.4 passes file descriptors).

    They must be handed to our make explicitly: subprocess closes every other descriptor,
    and a make that lost its jobserver falls back to one job (crate #92/#120's lesson).
    """
    match = _JOBSERVER_FDS.search(env.get("MAKEFLAGS", ""))
    if match is None:
        return ()
    fds = (int(match.group(1)), int(match.group(2)))
    try:
        for fd in fds:
            os.fstat(fd)
    except OSError:
        return ()  # named but not inherited (a process in between closed them): make warns and runs -j1
    return fds


def jobserver_usable(env: Mapping[str, str]) -> bool:
    """True when ``MAKEFLAGS`` names a jobserver this process can reach (open fds, or make 4.4's fifo)."""
    makeflags = env.get("MAKEFLAGS", "")
    fifo = re.search(r"--jobserver-auth=fifo:(\S+)", makeflags)
    return bool(jobserver_fds(env)) or (fifo is not None and os.path.exists(fifo.group(1)))


def run_logged(cmd: list[str], *, cwd: Path, env: Mapping[str, str], log_path: Path,
               on_line: Callable[[str], None] | None = None) -> int:
    """Run ``cmd`` with stdout and stderr in ``log_path``; ``on_line`` sees each line as it comes."""
    with log_path.open("w", encoding="utf-8") as fh:
        fh.write("$ " + shlex.join(cmd) + "\n")
        fh.flush()
        with subprocess.Popen(cmd, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", pass_fds=jobserver_fds(env)) as proc:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    fh.write(line)
                    if on_line is not None:
                        on_line(line.rstrip("\n"))
            except BaseException:
                # Ctrl-C or a crash in our code: stop make now rather than leave it writing.
                proc.kill()
                raise
            return proc.wait()


def tail(path: Path, lines: int, *, everything: bool = False) -> str:
    """The last ``lines`` lines of a log (``everything``: all of it, as CI logs want)."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text if everything else text[-lines:])


def config_log_excerpt(path: Path, lines: int = 50, *, everything: bool = False) -> str:
    """The end of config.log's test transcript: the failing check and the compiler's complaint.

    config.log ends with a dump of cache variables and confdefs.h that says nothing
    about the failure, so the tail is taken from before that dump.
    """
    if not path.is_file():
        return "(no config.log)"
    text = path.read_text(encoding="utf-8", errors="replace")
    if everything:
        return text
    transcript = text.split("## ---------------- ##\n## Cache variables. ##", 1)[0]
    return "\n".join(transcript.rstrip().splitlines()[-lines:])


_UNIT = re.compile(r"\s-c\s.*?(\S+/src/\S+\.c)\b|\s-c\s(?:.*\s)?(\S+\.c)\s*$")


def make_progress(report: Reporter, total: int) -> Callable[[str], None]:
    """A make-output watcher that reports ``[ n/total] unit.c`` per compiled unit, and error lines."""
    seen = 0

    def on_line(line: str) -> None:
        nonlocal seen
        match = _UNIT.search(line)
        if match and " -c " in line:
            seen += 1
            unit = Path(match.group(1) or match.group(2)).name
            report(f"  [{seen:3d}/{total}] {unit}")
        elif "error" in line.lower() and ":" in line:
            report("  " + line)

    return on_line
