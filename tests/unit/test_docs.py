"""The README and the docs site: it builds, its examples are run or say why not, its links resolve.

The examples themselves run against the built wheels in
``tests/integration/test_doc_examples.py``; here only what needs no build.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest
from docs_examples import EXAMPLES, ROOT, RUNNABLE, all_blocks, blocks, console_commands, example_blocks, pages

pytestmark = pytest.mark.skipif(not (ROOT / "mkdocs.yml").is_file(), reason="an sdist carries no docs")

README = ROOT / "README.md"
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:tmp|root|work|home)(?:/|\b)")
HERE = re.compile(r"\bhere\b|\bthis machine\b|\bload average", re.IGNORECASE)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _prose(path: Path) -> str:
    """The page without its fenced blocks (which show commands and outputs, not claims about files)."""
    return re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)


def _slug(heading: str) -> str:
    """Python-Markdown's toc anchor of a heading (what mkdocs and the link checks use)."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(path: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", _prose(path), flags=re.MULTILINE)}


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            pytest.skip(f"{module.split('.')[0]} is not installed: pip install -r ci/requirements-test.txt")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for page in ("index", "building", "api", "runner", "linking", "wheels", "conda", "platforms", "performance",
                 "reliability", "design", "development"):
        assert (tmp_path / "site" / ("index.html" if page == "index" else f"{page}/index.html")).is_file(), page
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert "jemalloc_sys.ctl.Allocator" in api, "the API page is generated from the docstrings"


def test_every_runnable_block_is_run_or_says_why_not() -> None:
    unmarked = [b.where for b in all_blocks() if b.lang in RUNNABLE and b.name is None and b.reason is None]
    assert not unmarked, f"mark each with <!-- example: NAME --> (tests/docs_examples.py) or <!-- not run: reason -->: {unmarked}"


def test_every_example_is_known_and_documents_its_expected_output() -> None:
    used = {b.name for b in all_blocks() if b.name}
    assert used <= set(EXAMPLES), f"examples without an entry in tests/docs_examples.py: {sorted(used - set(EXAMPLES))}"
    assert set(EXAMPLES) <= used, f"entries whose blocks are gone: {sorted(set(EXAMPLES) - used)}"
    for name, example in EXAMPLES.items():
        found = example_blocks(name)
        runs = [b for b in found if b.file is None]
        assert runs, f"{name}: no block runs (only files)"
        assert all(b.lang in {"console", "python"} or b.file for b in found), f"{name}: {[b.lang for b in found]}"
        documented = "\n".join(b.body + "\n" + b.output for b in found)
        for line in example.expect:
            assert line in documented, f"{name}: {line!r} is expected from the run but not in the docs"


def test_console_commands_are_split_like_a_shell() -> None:
    body = "$ a 'b\nc'\nout\n$ x \\\n  y\n$ z # it's\nmore"
    assert console_commands(body)[:2] == ["a 'b\nc'", "x \\\n  y"]


def test_readme_is_short_and_written_for_users() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert not MACHINE_PATH.findall(text), "machine paths in the README"
    assert not [m.group(0) for m in HERE.finditer(text)], "write for the reader's machine: no 'here', 'this machine'"
    for command in ("pip install jemalloc-sys", "jemalloc-sys run --service", "jemalloc-sys info --cflags --libs",
                    "jemalloc-sys run --profile", "jemalloc-sys prof report", "preload-path --link"):
        assert command in text, command


def test_readme_platform_table_names_every_published_platform() -> None:
    from wheel_builder import published

    text = README.read_text(encoding="utf-8")
    rows = [row for row in text[text.index("## Platforms"):].splitlines() if row.startswith("| ")]
    words = {"manylinux": "Linux", "musllinux": "musllinux", "macos": "macOS", "windows": "Windows"}
    for p in published.PLATFORMS:
        system, _, arch = p.name.partition("-")
        arch = arch.upper() if system == "windows" else arch
        assert any(words[system] in row and arch in row.split("|")[1] for row in rows), p.name


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        assert dest.exists(), f"{page.name}: link to {target}: no such file"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{page.name}: link to {target}: no such heading"


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_every_repository_file_a_page_names_exists(page: Path) -> None:
    tops = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")} | {".ci"}
    for span in CODE_SPAN.findall(_prose(page)):
        name = span.split()[0] if span.split() else ""
        if "/" not in name or any(c in name for c in "<>*{}$…"):
            continue
        first = name.split("/")[0]
        if first in tops and first not in ("build", "wheelhouse", "dist", "site"):
            assert (ROOT / name.split("#")[0].rstrip("/")).exists(), f"{page.name} names {name}, which is not there"


def test_the_hook_renders_every_marker_of_every_page() -> None:
    hooks = _hooks()
    for page in (ROOT / "docs").glob("*.md"):
        rendered = hooks.render(page.read_text(encoding="utf-8"))
        assert hooks.MARKER.search(rendered) is None, page.name
    with pytest.raises(ValueError, match="no such table"):
        hooks.render("<!-- generated: nope -->")


def test_the_hook_includes_results_or_the_command(tmp_path: Path) -> None:
    hooks = _hooks()
    (tmp_path / "tls.md").write_text("<!-- Generated by python -m benchmarks: do not edit by hand. -->\n\n"
                                     "### TLS\n\n| a | b |\n", encoding="utf-8")
    text = hooks.render("<!-- results -->", results_dir=tmp_path)
    assert "### TLS" in text and "Generated by" not in text
    assert "python -m benchmarks --only service --results-dir docs/performance" in text
    from benchmarks.__main__ import SECTIONS

    assert all(f"--only {s} " in text for s in SECTIONS if s != "tls")


def test_the_tables_follow_the_code() -> None:
    from jemalloc_build import features, platforms, variants
    from wheel_builder import published

    hooks = _hooks()
    assert all(f"`{f.name}`" in hooks.features_table() for f in features.FEATURES)
    assert all(f"`{v.name}`" in hooks.variants_table() for v in variants.VARIANTS)
    assert all(f"`{family}`" in hooks.backtraces_table() for family in platforms.BACKTRACES)
    assert all(f"`{p.name}`" in hooks.published_platforms_table() for p in published.PLATFORMS)
    assert len(hooks.portable_defaults_table().splitlines()) == 2 + len(platforms.PORTABLE_DEFAULTS)


def test_nothing_cites_the_notes_file_outside_the_repository() -> None:
    """Issue 15: facts are cited from docs/design.md; the field notes the project started from are not in it."""
    needle = "REFER" + "ENCE.md"  # spelled apart, so that this file does not match itself
    proc = subprocess.run(["git", "grep", "-n", "-F", needle], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode == 128:
        pytest.skip("not a git checkout")
    assert proc.stdout == "", proc.stdout
    assert blocks(README), "the README has examples"
