"""Derive the mallctl name -> C type table from the jemalloc source being built.

``mallctl`` takes untyped buffers: reading ``stats.allocated`` into a ``bool``
fails with EINVAL, and the user should not have to know that it is a
``size_t``. jemalloc's ``src/ctl.c`` already says it twice over: the node
tables (``*_node[]`` with ``NAME()``/``CHILD()``/``CTL()``/``INDEX()``) give
every dotted name and the function behind it, and the ``CTL_RO_*GEN`` macros
(or the ``READ(v, t)``/``WRITE(v, t)`` lines of hand-written functions) give
that function's type, access and the ``config_*`` switch that turns it off.
Reading them from the verified tree at build time keeps the table true for
the exact jemalloc we ship, with no list typed in by hand except
:data:`EXCEPTIONS` below.

The table is written to ``_mallctl_types.json`` in the build entry and copied
into the package, where :mod:`jemalloc_sys.ctl` uses it.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from jemalloc_sys import _names

from . import malloc_conf

log = logging.getLogger(__name__)

FILE_NAME = _names.TYPES_FILE
INDEX = "*"
"""Placeholder for an indexed path component (``arena.*.purge`` for ``arena.0.purge``)."""

EXCEPTIONS: dict[str, dict[str, Any]] = {
    # Hand-written functions whose type is not spelled by READ()/WRITE() in their own body.
    # Each entry says why, so it can be re-checked when jemalloc is bumped.
    # The *_decay_ms nodes delegate to arena_i_decay_ms_ctl_impl(), which reads/writes ssize_t.
    "arena_i_dirty_decay_ms": {"type": "ssize_t", "read": True, "write": True},
    "arena_i_muzzy_decay_ms": {"type": "ssize_t", "read": True, "write": True},
    # Delegates to arenas_decay_ms_ctl_impl() (ssize_t).
    "arenas_dirty_decay_ms": {"type": "ssize_t", "read": True, "write": True},
    "arenas_muzzy_decay_ms": {"type": "ssize_t", "read": True, "write": True},
}

_NODE = re.compile(r"static\s+const\s+ctl_(named|indexed)_node_t\s+(\w+)_node\s*\[\s*\]\s*=\s*\{(.*?)\};", re.S)
_NAMED_ENTRY = re.compile(r'NAME\(\s*"([^"]*)"\s*\)\s*,\s*(?:CHILD\(\s*(named|indexed)\s*,\s*(\w+)\s*\)|CTL\(\s*(\w+)\s*\))')
_INDEX_ENTRY = re.compile(r"INDEX\(\s*(\w+)\s*\)")
_GEN = {"CTL_RO_CGEN": (1, 0), "CTL_RO_GEN": (0, None), "CTL_RO_NL_CGEN": (1, 0), "CTL_RO_NL_GEN": (0, None),
        "CTL_RO_CONFIG_GEN": (0, None)}
"""Generator macro -> (index of the function-name argument, index of the condition argument)."""
_FUNC = re.compile(r"static\s+int\s+(\w+)_ctl\s*\(\s*tsd_t\s*\*\s*tsd\s*,[^)]*\)\s*\{")
_READ = re.compile(r"\b(?:READ|WRITE|ASSURED_WRITE)\s*\(")
_VERIFY = re.compile(r"\bVERIFY_READ\s*\(\s*([^)]+?)\s*\)")
_COND = re.compile(r"if\s*\(\s*!\s*\(?\s*(config_\w+)\s*\)?\s*\)\s*\{?\s*(?:return|ret\s*=)\s*ENOENT")
_NEWP = re.compile(r"\*\s*\(\s*([\w ]+?\s*\**)\s*\*\s*\)\s*newp|newlen\s*!=\s*sizeof\(\s*([\w ]+?\s*\**)\s*\)")
_EXPAND = ("OP", "MUTEX_PROF_GLOBAL_MUTEXES", "MUTEX_PROF_ARENA_MUTEXES", "MUTEX_PROF_DATA_NODE", "RO_MUTEX_CTL_GEN")
"""Macros expanded before parsing: they stamp out the mutex statistics nodes and functions."""


class MallctlSourceError(ValueError):
    """``src/ctl.c`` does not look the way this parser expects (a jemalloc bump changed it)."""


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return text.replace("\\\n", " ")


def _split_args(text: str, start: int) -> tuple[list[str], int]:
    """Arguments of the call whose '(' is at ``start``; returns them and the index after ')'."""
    depth = 0
    args: list[str] = []
    cur: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args, i + 1
        elif ch == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    raise MallctlSourceError("unbalanced parentheses in src/ctl.c")


def _substitute(body: str, params: list[str], args: list[str]) -> str:
    values = dict(zip(params, args))

    def stringify(m: re.Match[str]) -> str:
        return f'"{values.get(m.group(1), m.group(1))}"'

    body = re.sub(r"(?<!#)#\s*(\w+)", stringify, body)
    body = re.sub(r"\b(\w+)\b", lambda m: values.get(m.group(1), m.group(1)), body)
    return re.sub(r"\s*##\s*", "", body)


class _Expander:
    """A tiny preprocessor for the few generator macros of :data:`_EXPAND` (with # and ##)."""

    def __init__(self) -> None:
        self.macros: dict[str, tuple[list[str] | None, str]] = {}

    def run(self, text: str) -> str:
        out: list[str] = []
        block: list[str] = []
        for line in text.splitlines():
            m = re.match(r"\s*#\s*(define|undef)\s+(\w+)(\([^)]*\))?(.*)$", line)
            if m:
                out.append(self.expand("\n".join(block)))
                block = []
                kind, name, params, body = m.groups()
                if name in _EXPAND:
                    if kind == "undef":
                        self.macros.pop(name, None)
                    else:
                        plist = [p.strip() for p in params[1:-1].split(",")] if params else None
                        self.macros[name] = (plist, body.strip())
                out.append(line)
            else:
                block.append(line)
        out.append(self.expand("\n".join(block)))
        return "\n".join(out)

    def expand(self, text: str) -> str:
        for _ in range(8):
            changed = False
            pieces: list[str] = []
            pos = 0
            for m in re.finditer(r"\b(" + "|".join(re.escape(n) for n in self.macros) + r")\b", text) if self.macros else ():
                if m.start() < pos:
                    continue
                params, body = self.macros[m.group(1)]
                if params is None:
                    pieces.append(text[pos : m.start()] + " " + body + " ")
                    pos = m.end()
                    changed = True
                    continue
                j = m.end()
                while j < len(text) and text[j].isspace():
                    j += 1
                if j >= len(text) or text[j] != "(":
                    continue
                args, end = _split_args(text, j)
                pieces.append(text[pos : m.start()] + " " + _substitute(body, params, args) + " ")
                pos = end
                changed = True
            pieces.append(text[pos:])
            text = "".join(pieces)
            if not changed:
                break
        return text


def _function_bodies(text: str) -> dict[str, str]:
    bodies = {}
    for m in _FUNC.finditer(text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        bodies[m.group(1)] = text[m.end() : i]
    return bodies


def _typed_functions(text: str) -> dict[str, dict[str, Any]]:
    """ctl function name -> {type, read, write, requires} from the generator macros and READ/WRITE lines."""
    funcs: dict[str, dict[str, Any]] = {}
    entry: dict[str, Any]
    for macro, (name_at, cond_at) in _GEN.items():
        for m in re.finditer(r"(?<![#\w])" + macro + r"\s*\(", text):
            args, _ = _split_args(text, m.end() - 1)
            if len(args) < 2 or not re.fullmatch(r"\w+", args[name_at]):
                continue  # the macro's own #define line
            entry = {"type": " ".join(args[-1].split()), "read": True, "write": False}
            if cond_at is not None and re.fullmatch(r"config_\w+", args[cond_at]):
                entry["requires"] = args[cond_at]
            funcs[args[name_at]] = entry
    for name, body in _function_bodies(text).items():
        if name in funcs:
            continue
        reads: list[str] = []
        writes: list[str] = []
        for m in _READ.finditer(body):
            args, _ = _split_args(body, m.end() - 1)
            (reads if m.group(0).startswith("READ") else writes).append(" ".join(args[-1].split()))
        if not writes and "READONLY()" not in body:
            # Hand-rolled writes: `newlen != sizeof(bool)` then `*(bool *)newp`.
            writes = [" ".join((a or b).split()) for a, b in _NEWP.findall(body)][:1]
        first = (reads or writes)[0] if (reads or writes) else None
        entry = {"type": first, "read": bool(reads), "write": bool(writes)}
        if reads and writes and writes[0] != reads[0]:
            entry["write_type"] = writes[0]
        vm = _VERIFY.search(body)
        if vm and entry["type"] is None:
            entry["type"] = " ".join(vm.group(1).split())
            entry["read"] = True
        cond = _COND.search(body)
        if cond:
            entry["requires"] = cond.group(1)
        funcs[name] = entry
    for name, fixed in EXCEPTIONS.items():
        funcs[name] = {**funcs.get(name, {}), **fixed}
    return funcs


def _walk(nodes: dict[str, tuple[str, list[tuple[str, str, str]]]], node: str, prefix: str,
          out: dict[str, str]) -> None:
    if node not in nodes:
        raise MallctlSourceError(f"src/ctl.c: {prefix!r} refers to {node}_node[], which was not found")
    _, entries = nodes[node]
    for label, what, target in entries:
        path = f"{prefix}.{label}" if prefix and label else (label or prefix)
        if what == "ctl":
            out[path] = target
        elif what == "index":
            # INDEX(x) -> x_index() returns super_x_node, a single unnamed child x.
            _walk(nodes, target, f"{prefix}.{INDEX}" if prefix else INDEX, out)
        else:
            _walk(nodes, target, path, out)


def parse(ctl_c: str, mutex_prof_h: str = "") -> dict[str, dict[str, Any]]:
    """Dotted mallctl name (``*`` for indexes) -> {type, read, write[, requires]} for the source text given."""
    text = _Expander().run(_strip_comments(mutex_prof_h) + "\n" + _strip_comments(ctl_c))
    nodes: dict[str, tuple[str, list[tuple[str, str, str]]]] = {}
    for m in _NODE.finditer(text):
        kind, name, body = m.groups()
        if kind == "named":
            entries = [(label, "ctl" if ctl else "child", ctl or child)
                       for label, _, child, ctl in _NAMED_ENTRY.findall(body)]
        else:
            entries = [("", "index", idx) for idx in _INDEX_ENTRY.findall(body)]
        nodes[name] = (kind, entries)
    if "root" not in nodes:
        raise MallctlSourceError("src/ctl.c has no root_node[] table; the mallctl tree layout changed")
    names: dict[str, str] = {}
    _walk(nodes, "root", "", names)
    funcs = _typed_functions(text)
    table: dict[str, dict[str, Any]] = {}
    for path, func in sorted(names.items()):
        info = funcs.get(func)
        if info is None:
            log.debug("mallctl %s: no body found for %s_ctl", path, func)
            info = {"type": None, "read": False, "write": False}
        table[path] = {k: v for k, v in info.items() if v is not None or k == "type"}
    return table


def generate(tree: Path) -> dict[str, Any]:
    """The whole document shipped as ``_mallctl_types.json`` for the jemalloc tree at ``tree``."""
    ctl_c = (tree / "src" / "ctl.c").read_text(encoding="utf-8", errors="replace")
    mutex_h = tree / "include" / "jemalloc" / "internal" / "mutex_prof.h"
    table = parse(ctl_c, mutex_h.read_text(encoding="utf-8", errors="replace") if mutex_h.is_file() else "")
    return {
        "about": "mallctl name -> C type, derived from src/ctl.c by jemalloc_build.mallctl_types",
        "index": INDEX,
        "names": table,
        "conf_options": sorted(malloc_conf.known_options(tree)),
    }


def write(tree: Path, dest: Path) -> Path:
    """Write the table for ``tree`` to ``dest`` (a folder) atomically; return the file."""
    doc = generate(tree)
    path = dest / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    untyped = sorted(n for n, e in doc["names"].items() if e["type"] is None and (e["read"] or e["write"]))
    if untyped:
        log.info("mallctl names without a derived type: %s", ", ".join(untyped))
    return path
