"""jemalloc_build.configure: settings -> configure arguments, for each feature and platform, without building."""

from __future__ import annotations

import pytest

from jemalloc_build import configure, manifest, settings
from jemalloc_build.errors import SettingError
from jemalloc_build.platforms import parse_triple

MF = manifest.load()
LINUX = parse_triple("x86_64-linux-gnu")
KNOWN = frozenset({"background_thread", "narenas", "dirty_decay_ms", "prof"})


def plan(env: dict[str, str], target: str = "x86_64-linux-gnu", flavour: str = "inprocess",
         family: str = "gnu") -> configure.ConfigurePlan:
    return configure.plan(settings.resolve(environ=env), target=parse_triple(target), cross=False,
                          manifest=MF, known_options=KNOWN, flavour=flavour, family=family, link_stub_dir="/stubs")


def test_default_is_prefixed_dlopen_safe_and_without_stats() -> None:
    p = plan({})
    assert "--with-jemalloc-prefix=_rjem_" in p.args
    assert "--with-private-namespace=_rjem_" in p.args
    assert "--disable-stats" in p.args
    assert "--disable-initial-exec-tls" in p.args
    assert f"--with-version={MF.version_string}" in p.args
    assert p.tls_model == "global-dynamic"


@pytest.mark.parametrize(
    ("feature", "flag"),
    [
        ("profiling", "--enable-prof"),
        ("stats", "--enable-stats"),
        ("debug", "--enable-debug"),
        ("disable_cache_oblivious", "--disable-cache-oblivious"),
        ("profiling,profiling_libunwind", "--enable-prof-libunwind"),
    ],
)
def test_feature_adds_its_flag(feature: str, flag: str) -> None:
    assert flag in plan({"JEMALLOC_SYS_FEATURES": feature}).args
    assert flag not in plan({}).args


def test_stats_replaces_disable_stats() -> None:
    assert "--disable-stats" not in plan({"JEMALLOC_SYS_FEATURES": "stats"}).args


def test_background_thread_features_become_malloc_conf() -> None:
    assert plan({"JEMALLOC_SYS_FEATURES": "background_threads"}).malloc_conf == "background_thread:true"
    assert plan({"JEMALLOC_SYS_FEATURES": "-background_threads_runtime_support"}).malloc_conf == "background_thread:false"


def test_user_malloc_conf_is_appended_after_feature_conf() -> None:
    p = plan({"JEMALLOC_SYS_FEATURES": "background_threads", "JEMALLOC_SYS_WITH_MALLOC_CONF": "narenas:2"})
    assert "--with-malloc-conf=background_thread:true,narenas:2" in p.args


def test_unprefixed_on_linux_but_forced_prefix_on_apple_and_windows() -> None:
    env = {"JEMALLOC_SYS_FEATURES": "unprefixed_malloc_on_supported_platforms"}
    assert plan(env).symbol_prefix == ""
    assert plan(env, "aarch64-apple-darwin").symbol_prefix == "_rjem_"
    assert plan(env, "x86_64-w64-mingw32").symbol_prefix == "je_"
    assert plan(env, "aarch64-linux-android").symbol_prefix == "_rjem_"


def test_preload_flavour_is_unprefixed_with_initial_exec_tls() -> None:
    p = plan({}, flavour="preload")
    assert p.symbol_prefix == ""
    assert "--disable-initial-exec-tls" not in p.args
    assert p.tls_model == "initial-exec"
    assert "--with-install-suffix=_sys_preload" in p.args


@pytest.mark.parametrize(
    ("target", "page", "vaddr"),
    [("x86_64-linux-gnu", 12, 48), ("aarch64-linux-gnu", 16, 48), ("ppc64le-linux-gnu", 16, None),
     ("aarch64-apple-darwin", 14, None), ("x86_64-w64-mingw32", 12, 48)],
)
def test_portable_page_and_address_defaults(target: str, page: int, vaddr: int | None) -> None:
    p = plan({}, target)
    assert p.lg["lg_page"] == page
    assert p.lg["lg_vaddr"] == vaddr
    assert f"--with-lg-page={page}" in p.args


def test_explicit_lg_values_override_the_platform_table() -> None:
    p = plan({"JEMALLOC_SYS_WITH_LG_PAGE": "16", "JEMALLOC_SYS_WITH_LG_QUANTUM": "3",
              "JEMALLOC_SYS_WITH_LG_HUGEPAGE": "29", "JEMALLOC_SYS_WITH_LG_VADDR": "47"})
    for flag in ("--with-lg-page=16", "--with-lg-quantum=3", "--with-lg-hugepage=29", "--with-lg-vaddr=47"):
        assert flag in p.args


def test_hugepage_smaller_than_page_is_refused() -> None:
    with pytest.raises(SettingError, match=r"JEMALLOC_SYS_WITH_LG_HUGEPAGE=13 is smaller than the page size"):
        plan({"JEMALLOC_SYS_WITH_LG_PAGE": "16", "JEMALLOC_SYS_WITH_LG_HUGEPAGE": "13"})


def test_macos_inprocess_library_does_not_register_a_zone() -> None:
    assert "--disable-zone-allocator" in plan({}, "x86_64-apple-darwin").args
    assert "--disable-zone-allocator" not in plan({}).args


@pytest.mark.parametrize(
    ("conf", "message"),
    [("narenas", "'narenas' is not a key:value pair"), ("narenas:2,,prof:true", "'' is not a key:value pair"),
     ("backgroud_thread:true", "no option 'backgroud_thread'; did you mean 'background_thread'")],
)
def test_malformed_or_unknown_malloc_conf_is_refused(conf: str, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        plan({"JEMALLOC_SYS_WITH_MALLOC_CONF": conf})


def test_debug_with_an_8_byte_quantum_is_refused() -> None:
    with pytest.raises(SettingError, match=r"LG_QUANTUM=3 cannot be combined with the debug feature"):
        plan({"JEMALLOC_SYS_FEATURES": "debug", "JEMALLOC_SYS_WITH_LG_QUANTUM": "3"})


# --- profiling backtraces: chosen per toolchain on purpose, never the silent fallback ---------------------

PROFILING = {"JEMALLOC_SYS_FEATURES": "profiling"}


@pytest.mark.parametrize(("family", "target", "expected"), [
    ("gnu", "x86_64-linux-gnu", ("--enable-prof-libgcc", "--disable-prof-gcc")),
    ("zig", "x86_64-linux-gnu", ("--enable-prof-libgcc", "--disable-prof-gcc", "LIBS=-lunwind")),
    ("zig", "x86_64-linux-musl", ("--enable-prof-libgcc", "--disable-prof-gcc", "LIBS=-lunwind")),
    ("apple", "aarch64-apple-darwin", ("--enable-prof-libgcc", "--disable-prof-gcc",
                                       "ac_cv_lib_gcc__Unwind_Backtrace=yes", "LIBS=-L/stubs")),
])
def test_each_toolchain_gets_the_unwinder_of_its_table_entry(family: str, target: str,
                                                             expected: tuple[str, ...]) -> None:
    p = plan(PROFILING, target=target, family=family)
    assert p.backtrace == "libgcc"
    assert p.args[-len(expected):] == expected
    assert "--enable-prof-gcc" not in p.args  # the __builtin_return_address walk is never the default


def test_no_backtrace_flags_without_profiling() -> None:
    p = plan({}, family="zig")
    assert p.backtrace is None
    assert not [a for a in p.args if "prof" in a or a.startswith("LIBS=")]


def test_msvc_cannot_build_profiling_and_says_so() -> None:
    with pytest.raises(SettingError, match=r"profiling cannot be built for x86_64-pc-windows-msvc with this"
                                           r" compiler \(msvc\): .*drop the profiling feature"):
        plan(PROFILING, target="x86_64-pc-windows-msvc", family="msvc")


@pytest.mark.parametrize(("method", "flags"), [
    ("frameptr", ("--enable-prof-frameptr", "--disable-prof-libgcc", "--disable-prof-gcc")),
    ("gcc", ("--disable-prof-libgcc", "--enable-prof-gcc")),
    ("libunwind", ("--enable-prof-libunwind", "--disable-prof-libgcc", "--disable-prof-gcc")),
])
def test_the_setting_picks_another_method(method: str, flags: tuple[str, ...]) -> None:
    p = plan({**PROFILING, "JEMALLOC_SYS_PROF_BACKTRACE": method}, family="zig")
    assert p.backtrace == method
    assert p.args[-len(flags):] == flags


def test_profiling_libunwind_feature_means_the_libunwind_method() -> None:
    assert plan({"JEMALLOC_SYS_FEATURES": "profiling,profiling_libunwind"}).backtrace == "libunwind"
    with pytest.raises(SettingError, match="contradicts the feature profiling_libunwind"):
        plan({"JEMALLOC_SYS_FEATURES": "profiling,profiling_libunwind", "JEMALLOC_SYS_PROF_BACKTRACE": "libgcc"})


@pytest.mark.parametrize(("env", "message"), [
    ({"JEMALLOC_SYS_PROF_BACKTRACE": "libgcc"}, "needs the profiling feature"),
    ({**PROFILING, "JEMALLOC_SYS_PROF_BACKTRACE": "dwarf"}, "'dwarf' is not accepted; accepted: libgcc, libunwind"),
])
def test_bad_backtrace_settings_are_one_line_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingError, match=message) as info:
        plan(env)
    assert "\n" not in str(info.value)


def test_frameptr_is_linux_only() -> None:
    with pytest.raises(SettingError, match="frameptr works on Linux only"):
        plan({**PROFILING, "JEMALLOC_SYS_PROF_BACKTRACE": "frameptr"}, target="aarch64-apple-darwin", family="apple")
