"""jemalloc's own test suite, run against the exact configuration being built.

As the crate does (``JEMALLOC_SYS_RUN_JEMALLOC_TESTS``): ``make tests`` builds every
unit, integration, analyze and stress program, then ``make check`` runs them. This
works with our ``--disable-static`` configuration: unit and stress tests link
jemalloc's own ``.jet`` objects, integration and stress tests link the shared library
we ship (verified for 5.3.1), with the same compiler and flags.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from .errors import MakeError
from .logs import Reporter, run_logged, tail

TARGETS = ("tests", "check")

SUMMARY = "Test suite summary"
HARNESS_ERROR = "Test harness error"
"""What jemalloc's harness prints when a test program crashed; an aborted suite prints no summary."""


def run(make: list[str], *, objdir: Path, env: Mapping[str, str], logs: Path, report: Reporter,
        everything: bool = False) -> list[str]:
    """Build and run the suite in ``objdir``; returns the summary lines; raises MakeError on any failure."""
    summaries: list[str] = []
    for target in TARGETS:
        cmd = [*make, target]
        report(f"jemalloc: running upstream tests: $ {shlex.join(cmd)}")
        log_path = logs / f"{target}.log"
        status = run_logged(cmd, cwd=objdir, env=env, log_path=log_path)
        # Every suite's summary, from the whole log: with -jN the suites run side by side.
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        found = [line.strip() for line in lines if SUMMARY in line]
        for line in found:
            report("  " + line)
        summaries += found
        crashed = sum(HARNESS_ERROR in line for line in lines)
        if status != 0 or crashed:
            why = f"exit {status}" if status != 0 else f"{crashed} '{HARNESS_ERROR}' lines"
            raise MakeError(f"jemalloc's own test suite failed at `make {target}` ({why});"
                            " the end of its output follows",
                            detail=f"$ {shlex.join(cmd)}\n  (in {objdir})\n" + tail(log_path, 60, everything=everything))
    return summaries
