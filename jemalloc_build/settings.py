"""Every build setting, declared once.

Each field of :class:`BuildSettings` carries its environment variable, its PEP 517
config-settings key and its help text; the docs' table, the error messages and
the resolution chain are all derived from these declarations (a test checks the
docs do not drift). Resolution order, highest first:

1. ``<TARGET>_<ENV>`` (e.g. ``X86_64_LINUX_GNU_JEMALLOC_SYS_WITH_LG_PAGE``), as in the crate;
2. ``<ENV>``;
3. ``pip install -C key=value`` config settings;
4. the declared default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import features as features_mod
from .errors import SettingError


def _parse_int_range(low: int, high: int) -> Callable[[str, str], int]:
    def parse(text: str, source: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise SettingError(
                f"{source}={text!r} is not an integer; use a whole number from {low} to {high}"
            ) from None
        if not low <= value <= high:
            raise SettingError(f"{source}={value} is out of range; accepted: {low} to {high}")
        return value

    return parse


def _parse_str(text: str, source: str) -> str:
    return text.strip()


def _parse_features(text: str, source: str) -> tuple[str, ...]:
    return tuple(features_mod.parse_list(text))


def _parse_variant(text: str, source: str) -> str:
    from . import variants

    return variants.get(text or "base", source=source).name if text.strip() else ""


def _parse_jobs(text: str, source: str) -> int:
    return _parse_int_range(1, 1024)(text, source)


def _parse_choice(*choices: str) -> Callable[[str, str], str]:
    def parse(text: str, source: str) -> str:
        value = text.strip().lower()
        if value and value not in choices:
            import difflib

            close = difflib.get_close_matches(value, choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SettingError(f"{source}={text!r} is not accepted{hint}; accepted: {', '.join(choices)}")
        return value

    return parse


def _parse_bool(text: str, source: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise SettingError(f"{source}={text!r} is not a boolean; use 1 or 0")


def _setting(
    *,
    env: str,
    help: str,
    parse: Callable[[str, str], Any],
    default: Any = None,
    configure: str = "",
    per_target: bool = False,
) -> Any:
    return field(
        default=default,
        metadata={
            "env": env,
            "help": help,
            "parse": parse,
            "configure": configure,
            "per_target": per_target,
        },
    )


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    variant: str = _setting(
        env="JEMALLOC_SYS_BUILD_VARIANT",
        help="The variant to build (`base`, `stats`, `profiling`, `debug`): its features are added to the"
             " defaults; a companion's sdist sets it in `[tool.jemalloc-sys]`. Default: base.",
        parse=_parse_variant,
        default="",
    )
    features: tuple[str, ...] = _setting(
        env="JEMALLOC_SYS_FEATURES",
        help="Comma-separated features to add to the defaults; `-name` drops a default.",
        parse=_parse_features,
        default=(),
    )
    with_malloc_conf: str = _setting(
        env="JEMALLOC_SYS_WITH_MALLOC_CONF",
        help="Options baked into the library (`config.malloc_conf`), `key:value,...`; keys are checked against jemalloc's own list.",
        parse=_parse_str,
        default="",
        configure="--with-malloc-conf",
        per_target=True,
    )
    with_lg_page: int | None = _setting(
        env="JEMALLOC_SYS_WITH_LG_PAGE",
        help="log2 of the page size the library supports (12 = 4 KiB ... 16 = 64 KiB). Default: the platform table.",
        parse=_parse_int_range(12, 16),
        configure="--with-lg-page",
        per_target=True,
    )
    with_lg_hugepage: int | None = _setting(
        env="JEMALLOC_SYS_WITH_LG_HUGEPAGE",
        help="log2 of the huge page size (at least the page size; 21 = 2 MiB). Default: the platform table.",
        parse=_parse_int_range(12, 30),
        configure="--with-lg-hugepage",
        per_target=True,
    )
    with_lg_quantum: int | None = _setting(
        env="JEMALLOC_SYS_WITH_LG_QUANTUM",
        help="log2 of the minimum allocation alignment (3 = 8 bytes, 4 = 16 bytes). Default: jemalloc's per-arch value.",
        parse=_parse_int_range(3, 7),
        configure="--with-lg-quantum",
        per_target=True,
    )
    with_lg_vaddr: int | None = _setting(
        env="JEMALLOC_SYS_WITH_LG_VADDR",
        help="Number of significant virtual address bits (32-64). Default: the platform table.",
        parse=_parse_int_range(32, 64),
        configure="--with-lg-vaddr",
        per_target=True,
    )
    prof_backtrace: str = _setting(
        env="JEMALLOC_SYS_PROF_BACKTRACE",
        help="How profiling collects stacks: `libgcc` (`_Unwind_Backtrace`), `libunwind`, `frameptr` or `gcc`"
             " (intrinsics; only for programs built entirely with frame pointers). Default: the platform table.",
        parse=_parse_choice("libgcc", "libunwind", "frameptr", "gcc"),
        default="",
    )
    source: str = _setting(
        env="JEMALLOC_SYS_SOURCE",
        help="Path to the pinned jemalloc tarball or an extracted tree; checked against the manifest's sha256.",
        parse=_parse_str,
        default="",
    )
    override: str = _setting(
        env="JEMALLOC_OVERRIDE",
        help="Path to an existing jemalloc shared library to package instead of compiling (its headers are taken from ../include).",
        parse=_parse_str,
        default="",
    )
    num_jobs: int | None = _setting(
        env="JEMALLOC_SYS_NUM_JOBS",
        help="Parallel make jobs. Default: all cores, or the caller's MAKEFLAGS jobserver.",
        parse=_parse_jobs,
    )
    cache_dir: str = _setting(
        env="JEMALLOC_SYS_CACHE_DIR",
        help="Where downloaded sources and finished builds are kept for reuse. Default: the user cache folder.",
        parse=_parse_str,
        default="",
    )
    target: str = _setting(
        env="JEMALLOC_SYS_TARGET",
        help="GNU target triple to build for (cross builds). Default: what the C compiler reports (`cc -dumpmachine`).",
        parse=_parse_str,
        default="",
    )
    run_jemalloc_tests: bool = _setting(
        env="JEMALLOC_SYS_RUN_JEMALLOC_TESTS",
        help="Run jemalloc's own `make check` against the build before packaging it.",
        parse=_parse_bool,
        default=False,
    )


def setting_fields() -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(BuildSettings)


def config_key(f: dataclasses.Field[Any]) -> str:
    """Config-settings key: the field name with dashes (``-C with-lg-page=16``)."""
    return f.name.replace("_", "-")


def env_names() -> tuple[str, ...]:
    """Every environment variable a setting reads (without the per-target forms)."""
    return tuple(f.metadata["env"] for f in setting_fields())


PYPROJECT_TABLE = "jemalloc-sys"
"""``[tool.jemalloc-sys]`` in ``pyproject.toml``: settings a project tree fixes (a companion's ``variant``)."""


def _text(value: Any) -> str:
    """One string encoding for every source: lists are comma-joined, booleans lower-case (``1``/``0`` work too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _check_keys(table: Mapping[str, Any], where: str) -> None:
    known = {config_key(f) for f in setting_fields()}
    for key in table:
        if key.startswith("--"):
            continue  # setuptools' own --build-option style keys pass through
        if key.replace("_", "-") not in known:
            import difflib

            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SettingError(f"{where} {key!r} is unknown{hint}; accepted: {', '.join(sorted(known))}")


def _lookup(f: dataclasses.Field[Any], environ: Mapping[str, str], config: Mapping[str, Any],
            tool: Mapping[str, Any], target_prefix: str) -> tuple[str, str] | None:
    """The first source that sets ``f``: (text, name of the source), in the documented order."""
    env = f.metadata["env"]
    names = [f"{target_prefix}_{env}", env] if f.metadata["per_target"] and target_prefix else [env]
    for name in names:
        if name in environ:
            return environ[name], name
    for key in (config_key(f), f.name):
        if key in config:
            return _text(config[key]), f"config setting {config_key(f)}"
    for key in (config_key(f), f.name):
        if key in tool:
            return _text(tool[key]), f"[tool.{PYPROJECT_TABLE}] {config_key(f)} in pyproject.toml"
    return None


def resolve(
    *,
    environ: Mapping[str, str],
    config_settings: Mapping[str, Any] | None = None,
    pyproject: Mapping[str, Any] | None = None,
    target_prefix: str = "",
) -> BuildSettings:
    """Read every setting through the chain env > ``-C`` config settings > ``[tool.jemalloc-sys]`` > default.

    ``pyproject`` is the parsed ``pyproject.toml`` of the tree being built; unknown
    keys in the config settings or the tool table are errors, not silent defaults.
    """
    config = dict(config_settings or {})
    tool = dict((pyproject or {}).get("tool", {}).get(PYPROJECT_TABLE, {}))
    _check_keys(config, "config setting")
    _check_keys(tool, f"[tool.{PYPROJECT_TABLE}] key")
    values: dict[str, Any] = {}
    for f in setting_fields():
        found = _lookup(f, environ, config, tool, target_prefix)
        if found is None:
            continue
        text, source = found
        if text.strip() == "" and f.default is None:
            continue  # an empty value means "not set" for optional numbers
        values[f.name] = f.metadata["parse"](text, source)
    return BuildSettings(**values)


def settings_table_markdown() -> str:
    """The settings table of the docs (docs/building.md), generated from the declarations above."""
    rows = ["| environment variable | `-C` key | configure flag | meaning |", "| --- | --- | --- | --- |"]
    for f in setting_fields():
        flag = f"`{f.metadata['configure']}`" if f.metadata["configure"] else ""
        rows.append(f"| `{f.metadata['env']}` | `{config_key(f)}` | {flag} | {f.metadata['help']} |")
    return "\n".join(rows)
