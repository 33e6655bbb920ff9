"""The fenced blocks of the README and the docs, and which of them the example tests run.

A shell or Python block is either run by ``tests/integration/test_doc_examples.py``
(an HTML comment ``<!-- example: NAME -->`` just before it, NAME a key of
:data:`EXAMPLES`) or says why not (``<!-- not run: reason -->``);
``tests/unit/test_docs.py`` checks that every block is one or the other. An example
may span several blocks of one name, run in order in one folder: a block with
``file: NAME`` (``<!-- example: readme-profile file: app.py -->``) is written to that
file, a ``python`` block is run with the venv's interpreter, and a ``console`` block's
``$ `` commands are run with the venv first on ``PATH``. Each example's
:attr:`Example.expect` lines must appear both in what it printed and in the documented
output, which keeps the docs' outputs honest.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUNNABLE = frozenset({"sh", "bash", "shell", "console", "python", "pycon"})
"""Languages whose blocks must be run by a test or say why not."""

OUTPUT = frozenset({"", "text"})
"""A block of these languages right after an example is its documented output."""

MARKER = re.compile(r"^<!-- (?:example: (?P<name>[a-z0-9-]+)(?: file: (?P<file>[\w.-]+))?|not run: (?P<reason>.+?)) -->$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")

FRAMES = ("3.12", "3.13")
"""CPython versions whose heap profiles name Python functions."""


@dataclass(frozen=True, kw_only=True)
class Example:
    expect: tuple[str, ...]
    """Distinctive lines (or parts of lines) of the output, in the docs and in the real run."""
    venv: str = "shared"
    """``shared``: a venv holding the base and profiling wheels; ``empty``: a fresh venv with the wheelhouse beside."""
    tools: tuple[str, ...] = ()
    """Executables it needs besides the venv's (the test skips, naming them, when one is missing)."""
    python_frames: bool = False
    """Needs CPython 3.12 or 3.13 in the venv (Python functions in heap profiles)."""
    after: tuple[str, ...] = ()
    """Examples whose files it reads (run first when they have not run yet)."""


EXAMPLES: dict[str, Example] = {
    "readme-service": Example(expect=(
        "MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:",
        "  muzzy_decay_ms:0  # skip the lazily-freed (muzzy) stage: purged pages go straight back to the OS",
        "exec gunicorn app:app")),
    "readme-link": Example(expect=("/include -L", "/lib -ljemalloc_sys -Wl,-rpath,")),
    "readme-stats": Example(expect=("profiling 5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8", "Stats(allocated=")),
    "readme-profile": Example(expect=(
        "load_rows (app.py:5) <- build_cache (app.py:9) <- <module> (app.py:12)",
        "By native function:", "PyByteArray_Resize"), python_frames=True),
    "runner-conf": Example(expect=("5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8 2 True True",)),
    "runner-service": Example(expect=(
        "  background_thread:true  # purge unused dirty pages from background threads, in fork children too",
        "exec gunicorn --workers 4 app:app")),
    "runner-preload-env": Example(expect=("4 True", "narenas:4,background_thread:true malloc")),
    "runner-inprocess-prof": Example(expect=("True 19", "524288")),
    "runner-stacks": Example(expect=("    load_rows (app.py:5)", "    build_cache (app.py:9)", "    _start"),
                             python_frames=True, after=("readme-profile",)),
    "linking-cc": Example(expect=(
        "jemalloc 5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8: usable size of a 1000-byte block is 1024",
        "Shared library: [libjemalloc_sys.so.2]"), tools=("cc", "readelf")),
    "api-basics": Example(expect=("libjemalloc_sys.so.2", "_rjem_ global-dynamic 12", "1024")),
    "api-cli": Example(expect=("jemalloc-sys 5.3.1.0 (jemalloc 5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8)",
                               " -ljemalloc_sys -Wl,-rpath,")),
    "api-ctl": Example(expect=("5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8", "Stats(allocated=")),
    "api-errors": Example(expect=(
        "UnknownNameError: jemalloc has no mallctl 'stats.alocated'; did you mean 'stats.allocated'?",
        "ReadOnlyError: mallctl 'version' is read-only (EPERM)")),
    "wheels-variant": Example(expect=(
        "profiling ['background_threads_runtime_support', 'disable_initial_exec_tls', 'profiling', 'stats'] True",
        "No broken requirements found.",
        "base ['background_threads_runtime_support', 'disable_initial_exec_tls'] False"), venv="empty"),
}


@dataclass(frozen=True, kw_only=True)
class Block:
    path: Path
    line: int
    """1-based line of the opening fence."""
    lang: str
    body: str
    name: str | None = None
    file: str | None = None
    reason: str | None = None
    output: str = ""
    """The next block's body when it is a plain or ``text`` block (the documented output)."""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """The README and every page of the site (not the generated benchmark results)."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, with the marker on the last non-blank line before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[tuple[int, str, str, str]] = []  # (line, lang, body, marker text)
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "```"), len(lines))
        before = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        found.append((i + 1, fence.group("lang").lower(), "\n".join(lines[i + 1:end]), before))
        i = end + 1
    result = []
    for n, (line, lang, body, before) in enumerate(found):
        marker = MARKER.match(before)
        following = found[n + 1] if n + 1 < len(found) else None
        output = following[2] if following and following[1] in OUTPUT and not MARKER.match(following[3]) else ""
        result.append(Block(path=path, line=line, lang=lang, body=body, output=output,
                            name=marker.group("name") if marker else None,
                            file=marker.group("file") if marker else None,
                            reason=marker.group("reason") if marker else None))
    return result


def all_blocks() -> list[Block]:
    return [b for page in pages() for b in blocks(page)]


def example_blocks(name: str) -> list[Block]:
    """The blocks of one example, in document order (README first, then the pages)."""
    return [b for b in all_blocks() if b.name == name]


def console_commands(body: str) -> list[str]:
    """The ``$ `` commands of a console block; a command continues while its quotes are open or it ends in ``\\``."""
    commands: list[str] = []
    current: list[str] | None = None
    for line in body.splitlines():
        if current is None:
            if line.startswith("$ "):
                current = [line[2:]]
            else:
                continue
        else:
            current.append(line)
        text = "\n".join(current)
        if text.endswith("\\"):
            continue
        try:
            shlex.split(text)
        except ValueError:
            continue  # an open quote: the command goes on
        commands.append(text)
        current = None
    if current is not None:
        commands.append("\n".join(current))
    return commands
