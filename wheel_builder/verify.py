"""Checks of one finished wheel, each a small function returning (name, ok, detail).

What a wheel must be before it is published: the platform policy auditwheel
agrees with, exported symbols that cannot clash with the process allocator, no
path of the machine that built it, jemalloc's license, a PEP 770 SBOM naming
the bundled jemalloc and its source checksum, metadata that twine accepts, a
file list check-wheel-contents accepts, and the extras/pins of the variants.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from jemalloc_sys import _names

from . import functional, libc

Check = tuple[str, bool, str]



@dataclass(frozen=True, kw_only=True)
class Expect:
    """What the checks compare a wheel against."""

    distribution: str
    package: str
    version: str
    variant: str
    variant_features: tuple[str, ...]
    extras: dict[str, list[str]]
    wheel_tag: str
    jemalloc_version: str
    source_sha256: str
    forbidden_paths: tuple[str, ...]
    linux: bool
    python: str = sys.executable
    """The interpreter of wheel_builder's tool environment: auditwheel, twine and check-wheel-contents run in it."""
    platform: functional.Platform | None = None
    """How to compile and run the functional probe for this wheel's platform (None: no functional checks)."""


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=600)


def _dist_info(zf: zipfile.ZipFile) -> str:
    names = {n.split("/")[0] for n in zf.namelist() if n.split("/")[0].endswith(".dist-info")}
    if len(names) != 1:
        raise ValueError(f"expected one .dist-info folder, found {sorted(names)}")
    return names.pop()


def check_policy(wheel: Path, expect: Expect) -> Check:
    tags = wheel.name.removesuffix(".whl").split("-")[-1].split(".")
    if not expect.linux:
        ok = not expect.wheel_tag or expect.wheel_tag in tags
        return "tag", ok, f"{'.'.join(tags)} (expected {expect.wheel_tag or 'any'}; auditwheel is Linux-only)"
    if expect.wheel_tag and libc.foreign_libc(expect.wheel_tag):
        # auditwheel judges a musllinux wheel by the musl it finds on this glibc machine and reports
        # "linux"; the policy is judged on the target (cibuildwheel's musllinux job). Here: the tag.
        ok = expect.wheel_tag in tags
        return "policy", ok, (f"{'.'.join(tags)} (expected {expect.wheel_tag}); auditwheel's policy analysis"
                              " needs a machine of that C library: done by the release workflow's job")
    proc = _run([expect.python, "-m", "auditwheel", "show", "--json", str(wheel)])
    if proc.returncode != 0:
        return "policy", False, f"auditwheel show failed: {proc.stderr.strip()[-300:]}"
    report = json.loads(proc.stdout)
    policy = report.get("overall_tag", "")
    wanted = expect.wheel_tag or policy
    ok = wanted in tags and (not expect.wheel_tag or _policy_allows(policy, expect.wheel_tag))
    return "policy", ok, f"auditwheel: {policy}; wheel tags: {'.'.join(tags)}"


def _policy_allows(policy: str, wanted: str) -> bool:
    """True when the policy auditwheel found is at least as old (as portable) as the tag we claim."""
    def version(tag: str) -> tuple[int, ...]:
        parts = tag.split("_")
        try:
            return int(parts[1]), int(parts[2])
        except (IndexError, ValueError):
            return (99, 99)
    same_family = policy.split("_")[0] == wanted.split("_")[0]
    return same_family and version(policy) <= version(wanted)


GLIBC_HOOKS = frozenset({"__free_hook", "__malloc_hook", "__memalign_hook", "__realloc_hook"})
"""glibc's old malloc hook variables, which jemalloc defines when it replaces the C allocator."""


def preload_exports(inprocess: frozenset[str], prefix: str) -> frozenset[str]:
    """What the preload library may export, given the in-process library's exports (all ``prefix``-ed).

    The public API unprefixed (it replaces malloc), the same names with the prefix
    (``csrc/prefixed_aliases.c``: it answers as the in-process library under the runner),
    jemalloc's own exported internals (``_rjem_je_*``, the same in both) and glibc's hooks.
    """
    internals = frozenset(s for s in inprocess if s.startswith(prefix + "je_"))
    public = frozenset(s.removeprefix(prefix) for s in inprocess - internals)
    return public | {prefix + name for name in public} | internals | GLIBC_HOOKS


def _exports(zf: zipfile.ZipFile, member: str, workdir: Path) -> frozenset[str] | None:
    """The dynamic exports of an ELF member; None for anything else (the -l linker script, other formats)."""
    from jemalloc_sys import _elf

    data = zf.read(member)
    if not data.startswith(b"\x7fELF"):
        return None
    path = workdir / Path(member).name
    path.write_bytes(data)
    return frozenset(_elf.read(path).exported())


def check_symbols(wheel: Path, expect: Expect, workdir: Path) -> Check:
    """The in-process library exports only prefixed names; the preload library exactly its allowed set."""
    problems: list[str] = []
    seen: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        record = json.loads(zf.read(f"{expect.package}/{_names.RECORD_NAME}"))
        prefix, lib = record["symbol_prefix"], f"{expect.package}/lib/"
        inprocess = _exports(zf, lib + record["library"], workdir)
        preload_name = (record.get("preload") or {}).get("library", "")
        preload = _exports(zf, lib + preload_name, workdir) if preload_name else None
    if inprocess is not None:
        seen.append(f"{record['library']}: {len(inprocess)} exported")
        stray = sorted(s for s in inprocess if not s.startswith(prefix))
        if not prefix or stray:
            problems.append(f"{record['library']} exports unprefixed {', '.join(stray[:5])}")
    if preload is not None and inprocess is not None:
        seen.append(f"{preload_name}: {len(preload)} exported (the API unprefixed and {prefix}-aliased)")
        allowed = preload_exports(inprocess, prefix)
        absent, extra = sorted(allowed - GLIBC_HOOKS - preload), sorted(preload - allowed)
        if absent or extra:
            problems.append(f"{preload_name} (preload) lacks {absent[:6] or 'nothing'}, has extra {extra[:6] or 'none'}")
    if not seen and expect.linux:
        problems.append("no ELF library in the wheel")
    return "symbols", not problems, "; ".join(problems or seen)


def check_no_build_paths(wheel: Path, expect: Expect) -> Check:
    hits: list[str] = []
    needles = [p.encode() for p in expect.forbidden_paths if p]
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            for needle in needles:
                if needle in data:
                    hits.append(f"{name} contains {needle.decode()}")
    return "no build paths", not hits, "; ".join(hits[:5]) or f"{len(needles)} build paths absent from every file"


def check_license(wheel: Path, expect: Expect) -> Check:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        copying = f"{expect.package}/COPYING.jemalloc"
        if copying not in names:
            return "license", False, f"{copying} missing"
        text = zf.read(copying).decode("utf-8", "replace")
        ours = [n for n in names if ".dist-info/licenses/" in n and not n.endswith("/")]
    ok = "Redistribution and use in source and binary forms" in text and "Jason Evans" in text and bool(ours)
    return "license", ok, f"{copying} (BSD-2-Clause, jemalloc) and {', '.join(sorted(ours)) or 'no own license'}"


def check_sbom(wheel: Path, expect: Expect) -> Check:
    with zipfile.ZipFile(wheel) as zf:
        info = _dist_info(zf)
        sboms = [n for n in zf.namelist() if n.startswith(f"{info}/sboms/") and not n.endswith("/")]
        if not sboms:
            return "sbom", False, f"no {info}/sboms/ document (PEP 770)"
        doc = json.loads(zf.read(sboms[0]))
    components = {c.get("name"): c for c in doc.get("components", [])}
    jem = components.get("jemalloc", {})
    hashes = [h.get("content") for ref in jem.get("externalReferences", []) for h in ref.get("hashes", [])]
    ok = (doc.get("bomFormat") == "CycloneDX" and jem.get("version") == expect.jemalloc_version
          and expect.source_sha256 in hashes)
    return "sbom", ok, f"{sboms[0].split('/', 1)[1]}: jemalloc {jem.get('version')} source sha256 {hashes[:1]}"


def check_metadata(wheel: Path, expect: Expect) -> Check:
    with zipfile.ZipFile(wheel) as zf:
        meta = HeaderParser().parsestr(zf.read(f"{_dist_info(zf)}/METADATA").decode("utf-8"))
    problems = []
    if meta["Name"] != expect.distribution or meta["Version"] != expect.version:
        problems.append(f"name/version {meta['Name']} {meta['Version']}")
    requires = meta.get_all("Requires-Dist") or []
    extras = set(meta.get_all("Provides-Extra") or [])
    if expect.variant == "base":
        for extra, pins in expect.extras.items():
            if extra not in extras:
                problems.append(f"extra {extra} missing")
            for pin in pins:
                if not any(r.replace(" ", "").startswith(pin) and f'extra=="{extra}"' in r.replace(" ", "")
                           for r in requires):
                    problems.append(f"extra {extra} does not require {pin}")
    elif f"jemalloc-sys=={expect.version}" not in [r.replace(" ", "") for r in requires]:
        problems.append(f"does not require jemalloc-sys=={expect.version} (has {requires})")
    detail = "; ".join(problems) or f"{meta['Name']} {meta['Version']}, requires {requires or 'nothing'}"
    return "metadata", not problems, detail


def _tool(name: str, cmd: list[str], wheel: Path) -> Check:
    proc = _run(cmd)
    text = " ".join((proc.stdout + proc.stderr).replace(str(wheel.parent) + "/", "").split())
    return name, proc.returncode == 0, text[-300:] or f"exit {proc.returncode}"


def check_twine(wheel: Path, expect: Expect) -> Check:
    return _tool("twine check", [expect.python, "-m", "twine", "--no-color", "check", "--strict", str(wheel)], wheel)


def check_wheel_contents(wheel: Path, expect: Expect) -> Check:
    return _tool("check-wheel-contents", [expect.python, "-m", "check_wheel_contents", str(wheel)], wheel)


def check_features(wheel: Path, expect: Expect) -> Check:
    with zipfile.ZipFile(wheel) as zf:
        record = json.loads(zf.read(f"{expect.package}/{_names.RECORD_NAME}"))
    missing = [f for f in expect.variant_features if f not in record["features"]]
    return "features", not missing, f"{','.join(record['features'])}" + (f"; lacks {missing}" if missing else "")


CHECKS: tuple[Callable[[Path, Expect], Check], ...] = (
    check_policy, check_features, check_no_build_paths, check_license, check_sbom, check_metadata, check_twine,
    check_wheel_contents,
)


SKIPPED = "skipped: "
"""Detail prefix of a check that could not run here (shown as ``skip``, not a failure)."""


def functional_checks(wheel: Path, expect: Expect, workdir: Path) -> list[Check]:
    """Unpack the wheel's package and use every library it ships (:mod:`wheel_builder.functional`)."""
    if expect.platform is None:
        return []
    unpacked = workdir / "unpacked"
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist() if n.startswith(f"{expect.package}/")]
        zf.extractall(unpacked, members=members)
    package = unpacked / expect.package
    for library in (package / "lib").iterdir():
        library.chmod(0o755)
    checks, skipped = functional.run_checks(functional.libraries(package), expect.platform,
                                            workdir=workdir / "probe", bin_dir=package / "bin")
    return checks + [("functional", True, SKIPPED + reason) for reason in skipped]


def verify(wheel: Path, expect: Expect, workdir: Path) -> list[Check]:
    workdir.mkdir(parents=True, exist_ok=True)
    calls = [functools.partial(check, wheel, expect) for check in CHECKS]
    calls.insert(1, functools.partial(check_symbols, wheel, expect, workdir))
    results: list[Check] = []
    for call in calls:
        try:
            results.append(call())
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # a malformed wheel fails its check
            results.append((call.func.__name__.removeprefix("check_"), False, f"{type(exc).__name__}: {exc}"))
    return results + functional_checks(wheel, expect, workdir)
