"""A flame graph of a heap profile as one SVG file, drawn by this package (no Perl, no graphviz).

Roots at the bottom, as Brendan Gregg's flame graphs draw them: each box is a
function, its width the bytes allocated through it (estimated, as the report
counts them), its children the functions it called. Python frames (named by the
dump's ``.pymap``) are orange, native frames blue, the allocator grey. Hovering a
box shows its name and bytes (SVG ``<title>``); the file needs nothing but a browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from .report import Report

WIDTH = 1200
ROW = 17
MARGIN = 10
MIN_WIDTH = 0.5
"""Boxes narrower than this many pixels are left out (they could not be seen)."""

COLOURS = {"python": "#f6a04d", "native": "#6fa8dc", "allocator": "#bbbbbb"}


@dataclass
class Node:
    name: str
    size: float = 0.0
    children: dict[str, Node] = field(default_factory=dict)

    def add(self, path: list[str], size: float) -> None:
        """Add one stack, root first."""
        self.size += size
        if path:
            child = self.children.setdefault(path[0], Node(path[0]))
            child.add(path[1:], size)

    def depth(self) -> int:
        return 1 + max((c.depth() for c in self.children.values()), default=0)


def tree(report: Report) -> Node:
    """The profile's stacks as a call tree from the root (``all``)."""
    root = Node("all")
    for path, size in report.stacks:
        root.add(list(reversed(path)) or ["[allocator]"], size)
    return root


def _mb(size: float) -> str:
    return f"{size / 1048576:.1f} MB"


def _boxes(node: Node, x: float, level: int, scale: float, report: Report, out: list[str], height: int) -> None:
    width = node.size * scale
    if width < MIN_WIDTH:
        return
    y = height - MARGIN - (level + 1) * ROW
    kind = "python" if node.name in report.python else "allocator" if node.name == "[allocator]" else "native"
    label = escape(node.name)
    text = label if len(label) * 7 < width - 4 else (label[: int((width - 4) / 7) - 2] + ".." if width > 30 else "")
    out.append(f'<g><title>{label} ({_mb(node.size)}, {100 * node.size / max(report.total, 1):.1f}%)</title>'
               f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 1}" fill="{COLOURS[kind]}"'
               f' rx="2" data-kind="{kind}"/>'
               + (f'<text x="{x + 3:.1f}" y="{y + ROW - 5}">{text}</text>' if text else "") + "</g>")
    child_x = x
    for child in sorted(node.children.values(), key=lambda c: (-c.size, c.name)):
        _boxes(child, child_x, level + 1, scale, report, out, height)
        child_x += child.size * scale


def svg(report: Report, *, title: str = "Heap profile") -> str:
    """The SVG document (deterministic: the same report gives the same bytes)."""
    root = tree(report)
    height = root.depth() * ROW + 2 * MARGIN + 24
    scale = (WIDTH - 2 * MARGIN) / root.size if root.size else 0.0
    boxes: list[str] = []
    _boxes(root, MARGIN, 0, scale, report, boxes, height)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}"'
            ' font-family="Verdana, sans-serif" font-size="11">'
            f'<text x="{WIDTH / 2}" y="{MARGIN + 12}" text-anchor="middle" font-size="15">{escape(title)}:'
            f" {_mb(report.total)}</text>")
    return head + "".join(boxes) + "</svg>\n"


def write_svg(report: Report, path: Path, *, title: str = "Heap profile") -> Path:
    path.write_text(svg(report, title=title), encoding="utf-8")
    return path
