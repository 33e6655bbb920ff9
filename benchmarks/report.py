"""Markdown pieces every section uses: tables, ratios, goal verdicts. Pure functions (unit-tested).

Each section renders its own table with these; nothing here knows a section.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from . import measure

NOT_APPLICABLE = "n/a"
"""A :class:`measure.Series` error starting with this is a cell that does not apply, not a failure."""

Goal = tuple[str, float, float, float, bool]
"""(label, value, reference, limit, at_most): ``value / reference`` must be <= limit (at_most) or >= limit."""


def ratio(value: float, base: float) -> str:
    """``value / base`` as ``0.87x``; ``n/a`` when either side was not measured."""
    if math.isnan(value) or math.isnan(base) or base <= 0:
        return "n/a"
    return f"{value / base:.2f}x"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table; short rows are padded, pipes in cells escaped."""
    def line(cells: Sequence[str]) -> str:
        padded = [*cells, *[""] * (len(header) - len(cells))]
        return "| " + " | ".join(c.replace("|", "\\|") for c in padded) + " |"

    return "\n".join([line(header), "| " + " | ".join("---" for _ in header) + " |", *map(line, rows)])


def verdict(value: float, reference: float, limit: float, at_most: bool) -> str:
    """``met`` / ``NOT met`` / ``not measured`` for one ratio goal."""
    if math.isnan(value) or math.isnan(reference) or reference <= 0:
        return "not measured"
    r = value / reference
    return "met" if (r <= limit if at_most else r >= limit) else "NOT met"


def goals(items: Sequence[Goal]) -> list[str]:
    """One bullet per goal: the ratio measured, the goal, and whether it was met."""
    lines = []
    for label, value, reference, limit, at_most in items:
        lines.append(f"- Goal {label} {'<=' if at_most else '>='} {limit:.2f}: {ratio(value, reference)},"
                     f" {verdict(value, reference, limit, at_most)}.")
    return lines


def losses(rows: Sequence[str], cases: Sequence[str], results: dict[str, dict[str, measure.Series]],
           baseline: dict[str, str], ours: Callable[[str], bool]) -> list[str]:
    """Bullets for every cell where one of ``ours`` rows uses more CPU than its baseline (1.01x and up, as printed),
    or 5 % more peak RSS."""
    found = []
    for row in rows:
        if not ours(row) or baseline[row] == row:
            continue
        for case in cases:
            s, b = results[case][row], results[case][baseline[row]]
            if s.error or b.error or not s.runs or not b.runs:
                continue
            if s.cpu > 1.005 * b.cpu:  # a loss that rounds to 1.00x is not one
                found.append(f"- {row}, {case}: CPU {ratio(s.cpu, b.cpu)} of {baseline[row]}.")
            if s.rss_mb > 1.05 * b.rss_mb:
                found.append(f"- {row}, {case}: peak RSS {s.rss_mb:.1f} MB against {b.rss_mb:.1f} MB.")
    return found or ["- nowhere in this table."]


def runs_table(title: str, note: str, rows: Sequence[str], cases: Sequence[str],
               results: dict[str, dict[str, measure.Series]], baseline: dict[str, str],
               loss_heading: str = "", ours: Callable[[str], bool] = lambda row: False) -> str:
    """CPU seconds (ratio to the row's baseline) / peak RSS per case: the runtime, toolchain and TLS tables.

    ``baseline`` maps each row to the row its ratio is taken against. With
    ``loss_heading``, the cells where an ``ours`` row loses to its baseline follow the table.
    """
    body = []
    for row in rows:
        cells = [row]
        for case in cases:
            s, base = results[case][row], results[case][baseline[row]]
            if s.error.startswith(NOT_APPLICABLE):
                cells.append(s.error)
            elif s.error or not s.runs:
                cells.append(f"fails: {s.error.rpartition(': ')[2][:60]}")
            elif base.error or not base.runs:
                cells.append(f"{s.cpu:.3f} / {s.rss_mb:.1f}")
            else:
                cells.append(f"{s.cpu:.3f} ({ratio(s.cpu, base.cpu)}) / {s.rss_mb:.1f}")
        body.append(cells)
    header = ["contender", *[f"{c}: CPU s (ratio) / peak RSS MB" for c in cases]]
    lines = [f"### {title}", "", note, "", table(header, body), ""]
    if loss_heading:
        lines += [loss_heading, "", *losses(rows, cases, results, baseline, ours), ""]
    return "\n".join(lines)
