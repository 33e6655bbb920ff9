"""mkdocs hook: the tables the docs show are rendered from the code when the site is built.

A page asks for a table with an HTML comment on a line of its own,
``<!-- generated: NAME -->`` (NAME a key of :data:`TABLES`), and for the benchmark
results with ``<!-- results -->``. Nothing here is copied by hand, so the docs
cannot drift from the settings, features, variants and platform tables the
builder uses. The functions are plain (markdown in, markdown out) so the unit
tests call them without mkdocs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `mkdocs build` does not put the checkout on sys.path
    sys.path.insert(0, str(ROOT))

from benchmarks.__main__ import SECTIONS  # noqa: E402
from jemalloc_build import features, platforms, settings, variants  # noqa: E402
from wheel_builder import published  # noqa: E402

RESULTS_DIR = ROOT / "docs" / "performance"
"""Where ``python -m benchmarks --results-dir docs/performance`` writes one file per section."""

MARKER = re.compile(r"^<!-- (?:generated: (?P<name>[a-z-]+)|(?P<results>results)) -->$", re.MULTILINE)


def _code(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{item}`" for item in items) or "—"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def features_table() -> str:
    """Every cargo-style feature: its default, what it adds when on and when off, what it is for."""
    rows = []
    for f in features.FEATURES:
        on = [*f.configure_on, *(f"malloc_conf {c}" for c in f.malloc_conf_on)]
        off = [*f.configure_off, *(f"malloc_conf {c}" for c in f.malloc_conf_off)]
        if f.name == "unprefixed_malloc_on_supported_platforms":
            on = ["no --with-jemalloc-prefix"]
        rows.append([f"`{f.name}`", "on" if f.default else "off", _code(on), _code(off), _code(list(f.requires)),
                     f.help])
    return _table(["feature", "default", "when on", "when off", "requires", "what it is for"], rows)


def variants_table() -> str:
    """The extras, the companion distribution each pulls in, and the features its library adds."""
    rows = []
    for v in variants.VARIANTS:
        install = "pip install jemalloc-sys" if v.is_base else f"pip install 'jemalloc-sys[{v.extra}]'"
        rows.append([f"`{install}`", "—" if v.is_base else f"`{v.distribution}`", f"`{v.name}`",
                     _code(list(v.features)), v.summary])
    return _table(["you install", "pip adds", "variant", "features beyond the defaults", "what it is"], rows)


def portable_defaults_table() -> str:
    """Page, huge-page and address-width defaults per platform (never read off the build machine)."""
    rows = []
    for os_name, arch, d in platforms.PORTABLE_DEFAULTS:
        def lg(value: int | None) -> str:
            return "jemalloc's probe" if value is None else f"{value} ({(1 << value) // 1024} KiB)" if value < 20 \
                else f"{value} ({(1 << value) >> 20} MiB)"

        rows.append([os_name, "any other" if arch == "*" else arch, lg(d.lg_page), lg(d.lg_hugepage),
                     "jemalloc's probe" if d.lg_vaddr is None else str(d.lg_vaddr), d.why])
    return _table(["OS", "arch", "lg_page", "lg_hugepage", "lg_vaddr", "why"], rows)


def backtraces_table() -> str:
    """The profiling backtrace method per toolchain family, the configure flags that pin it, and why."""
    rows = []
    for family, b in platforms.BACKTRACES.items():
        flags = [*platforms.BACKTRACE_FLAGS.get(b.method or "", ()), *b.configure_vars]
        method = f"`{b.method}`" if b.method else "none: profiling refused"
        rows.append([f"`{family}`", method, _code(flags), b.why])
    return _table(["toolchain family", "method", "configure arguments", "why"], rows)


def published_platforms_table() -> str:
    """Every platform a release has wheels for: runner, emulation, and which variants it publishes."""
    rows = []
    for p in published.PLATFORMS:
        shipped = [v.name for v in variants.VARIANTS if published.publishes(v, p)]
        rows.append([f"`{p.name}`", f"`cp312-{p.identifier}`", f"`{p.runner}`" + (" (QEMU)" if p.qemu else ""),
                     f"`{p.family}`", ", ".join(shipped)])
    return _table(["platform", "cibuildwheel identifier", "GitHub runner", "toolchain", "variants with wheels"], rows)


TABLES: dict[str, Callable[[], str]] = {
    "settings": settings.settings_table_markdown,
    "features": features_table,
    "variants": variants_table,
    "portable-defaults": portable_defaults_table,
    "backtraces": backtraces_table,
    "published-platforms": published_platforms_table,
}


def results(folder: Path = RESULTS_DIR) -> str:
    """Each benchmark section's results file, or the command that writes it when it is missing."""
    parts = []
    for section in SECTIONS:
        path = folder / f"{section}.md"
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            parts.append(re.sub(r"\A<!--.*?-->\s*", "", text, flags=re.DOTALL).strip())
        else:
            parts.append(f"### {section}\n\nNot measured yet. The file `docs/performance/{section}.md` is written by\n\n"
                         f"```sh\npython -m benchmarks --only {section} --results-dir docs/performance\n```")
    return "\n\n".join(parts)


def render(markdown: str, *, results_dir: Path = RESULTS_DIR) -> str:
    """Replace every marker of ``markdown`` with what it names; an unknown name is an error."""
    def replace(match: re.Match[str]) -> str:
        if match.group("results"):
            return results(results_dir)
        name = match.group("name")
        if name not in TABLES:
            raise ValueError(f"<!-- generated: {name} -->: no such table; known: {', '.join(TABLES)}")
        return TABLES[name]()

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """mkdocs event: runs on every page's markdown before it is converted to HTML."""
    return render(markdown)
