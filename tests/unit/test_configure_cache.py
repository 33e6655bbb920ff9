"""Which configure runs share autoconf's answers, and how the shared file is seeded and published."""

from __future__ import annotations

from pathlib import Path

import pytest

from jemalloc_build import configure_cache

BASE = ["--disable-cxx", "--enable-shared", "--with-version=5.3.1-0-gabc", "--with-jemalloc-prefix=_rjem_",
        "--with-install-suffix=_sys", "--disable-stats", "--disable-initial-exec-tls", "--with-lg-page=12"]
ENV = {"PATH": "/tools/bin:/usr/bin", "CC": "zig cc -target x86_64-linux-gnu.2.17", "LDFLAGS": "-Wl,--strip-debug"}


def key(args: list[str], env: dict[str, str] | None = None, **overrides: str) -> str:
    given = {"compiler": ["zig", "0.17.1", "cc"], "compiler_version": "clang 22", "target": "x86_64-linux-gnu",
             "configure_sha256": "c0ffee", **overrides}
    return configure_cache.key(args=args, environ=ENV if env is None else env, compiler=given["compiler"],
                               compiler_version=given["compiler_version"], target=given["target"],
                               configure_sha256=given["configure_sha256"])


def test_options_that_only_set_a_value_share_a_group() -> None:
    # The wheel's variants: the preload library drops the prefix and keeps initial-exec TLS; stats turns stats on.
    preload = [a for a in BASE if a != "--disable-initial-exec-tls"]
    preload = [("--with-jemalloc-prefix=" if a.startswith("--with-jemalloc-prefix=") else a) for a in preload]
    stats = [("--enable-stats" if a == "--disable-stats" else a) for a in BASE]
    assert key(BASE) == key(preload) == key(stats)


@pytest.mark.parametrize("extra", [
    ["--enable-debug"],  # drops -O3 before later probes run
    ["--enable-prof", "--enable-prof-libgcc", "--disable-prof-gcc"],
    ["LIBS=-lunwind"],  # precious, and autoconf refuses a cache made with another value
    ["--host=aarch64-linux-gnu"],
    ["--enable-some-option-jemalloc-adds-later"],  # unknown options are in the key
])
def test_options_that_can_change_a_probe_make_their_own_group(extra: list[str]) -> None:
    assert key([*BASE, *extra]) != key(BASE)


@pytest.mark.parametrize(("name", "value"), [
    ("CC", "gcc"), ("CFLAGS", "-O0"), ("CPPFLAGS", "-DX"), ("LDFLAGS", ""), ("LIBS", "-lm"), ("CPP", "cpp"),
    ("PATH", "/other/bin"),  # cached tool paths (install, ld) come from PATH
    ("ac_cv_lib_gcc__Unwind_Backtrace", "no"),  # an answer given from outside ends up in the file
    ("CONFIG_SITE", "/etc/site.conf"),
])
def test_what_reaches_the_probes_is_in_the_key(name: str, value: str) -> None:
    assert key(BASE, {**ENV, name: value}) != key(BASE)


def test_variables_that_do_not_reach_the_probes_are_not() -> None:
    # jemalloc's configure.ac: EXTRA_CFLAGS "does not impact configure tests"; it carries per-build path maps.
    assert key(BASE, {**ENV, "EXTRA_CFLAGS": "-ffile-prefix-map=/tmp/a=."}) == key(BASE)


@pytest.mark.parametrize("field", ["compiler", "compiler_version", "target", "configure_sha256"])
def test_the_compiler_target_and_script_are_in_the_key(field: str) -> None:
    other = {"compiler": ["gcc"], "compiler_version": "gcc 12", "target": "aarch64-linux-gnu",
             "configure_sha256": "decaf"}
    assert key(BASE, **{field: other[field]}) != key(BASE)  # type: ignore[arg-type]


def test_a_group_starts_empty_then_seeds_from_what_was_published(tmp_path: Path) -> None:
    produced, dest = tmp_path / "produced.cache", tmp_path / "run" / "config.cache"
    dest.parent.mkdir()
    assert not configure_cache.seed(tmp_path, "g1", dest)
    assert not dest.exists()
    configure_cache.publish(tmp_path, "g1", tmp_path / "missing.cache")  # a run that wrote none publishes nothing
    assert not configure_cache.shared_file(tmp_path, "g1").exists()
    produced.write_text("ac_cv_header_stdio_h=${ac_cv_header_stdio_h=yes}\n", encoding="utf-8")
    configure_cache.publish(tmp_path, "g1", produced)
    assert configure_cache.seed(tmp_path, "g1", dest)
    assert dest.read_text(encoding="utf-8") == produced.read_text(encoding="utf-8")
    assert not configure_cache.seed(tmp_path, "g2", tmp_path / "other.cache")  # groups do not mix
    assert [p.name for p in (tmp_path / "configure-cache").iterdir()] == ["g1.cache"]  # no temporary left


def test_only_autoconfs_refusal_of_the_cache_is_retried(tmp_path: Path) -> None:
    log = tmp_path / "configure.log"
    assert not configure_cache.refused(log)  # no log at all
    log.write_text("configure: error: C compiler cannot create executables\n", encoding="utf-8")
    assert not configure_cache.refused(log)  # configure's own failure (or an interruption): not retried
    # autoconf 2.72's words when a cache file does not fit the run (CC changed, here):
    log.write_text("configure: error: changes in the environment can compromise the build\n"
                   "configure: error: run 'make distclean' and/or 'rm ../config.cache'\n"
                   "\t    and start over\n", encoding="utf-8")
    assert configure_cache.refused(log)
