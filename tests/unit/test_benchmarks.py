"""The benchmark harness's pure parts: what it reads from /proc, the wheelhouse and compilers, and what it prints.

The measurements themselves are not tests (``python -m benchmarks``); these check
that the numbers they produce are read and reported correctly.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from conftest import ROOT

if not (ROOT / "benchmarks").is_dir():
    pytest.skip("an sdist: the benchmark harness is not shipped in it", allow_module_level=True)

from benchmarks import compilers, footprint, measure, programs, pss, report, shipped, tls

ROLLUP = """55d5c0a00000-7ffd3b1f2000 ---p 00000000 00:00 0                          [rollup]
Rss:               52340 kB
Pss:               31877 kB
Pss_Anon:          28012 kB
Pss_File:           3865 kB
Shared_Clean:      20120 kB
Private_Dirty:     28012 kB
"""


def test_smaps_rollup_fields_in_kb() -> None:
    fields = pss.rollup_kb(ROLLUP)
    assert fields["Pss"] == 31877
    assert fields["Rss"] == 52340
    assert "[rollup]" not in "".join(fields)


def fake_proc(root: Path, processes: dict[int, tuple[str, int, int]]) -> Path:
    """A /proc with ``pid -> (comm, parent, pss kB)``."""
    for pid, (comm, parent, pss_kb) in processes.items():
        folder = root / str(pid)
        folder.mkdir(parents=True)
        # state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        (folder / "stat").write_text(f"{pid} ({comm}) S {parent} {pid} {pid} 0 -1 4194560 10 0 0 0 {pid} 7 0 0 20\n")
        (folder / "smaps_rollup").write_text(ROLLUP.replace("31877", str(pss_kb)))
    (root / "self").mkdir()  # not a process folder: skipped
    return root


def test_parent_and_cpu_from_stat_when_the_command_name_has_spaces_and_parentheses() -> None:
    stat = "4242 (gunicorn: worker (app)) S 4100 4100 4100 0 -1 4194560 10 0 0 0 250 31 0 0 20 0 3\n"
    assert pss.parent_of(stat) == 4100
    assert pss.cpu_ticks(stat) == 281


def test_workers_pss_is_the_sum_over_the_masters_children_only(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {100: ("gunicorn: master", 1, 50000), 101: ("gunicorn: worker [app]", 100, 1000),
                                102: ("gunicorn: worker [app]", 100, 2000), 200: ("loadgen", 1, 90000),
                                201: ("child of another", 200, 4000)})
    assert pss.children(100, proc) == [101, 102]
    assert pss.workers_pss_kb(100, proc) == (3000, 2)
    ticks = os.sysconf("SC_CLK_TCK")
    assert pss.workers_cpu_seconds(100, proc) == pytest.approx((101 + 7 + 102 + 7) / ticks)


def test_ratio_and_goal_verdicts() -> None:
    assert report.ratio(1.5, 3.0) == "0.50x"
    assert report.ratio(1.0, 0.0) == "n/a"
    assert report.ratio(math.nan, 1.0) == "n/a"
    assert report.verdict(49, 100, 0.5, at_most=True) == "met"
    assert report.verdict(51, 100, 0.5, at_most=True) == "NOT met"
    assert report.verdict(94, 100, 0.95, at_most=False) == "NOT met"
    assert report.verdict(math.nan, 100, 0.95, at_most=False) == "not measured"
    lines = report.goals([("idle PSS, preset / glibc", 30.0, 100.0, 0.5, True)])
    assert lines == ["- Goal idle PSS, preset / glibc <= 0.50: 0.30x, met."]


def test_markdown_table_pads_rows_and_escapes_pipes() -> None:
    text = report.table(["a", "b"], [["x|y"]])
    assert text.splitlines() == ["| a | b |", "| --- | --- |", "| x\\|y |  |"]


def test_runs_table_ratios_against_each_rows_baseline() -> None:
    def series(cpu: float) -> measure.Series:
        run = measure.Run(wall=cpu, reported=None, cpu=cpu, max_rss_kb=2048, returncode=0, stdout="", stderr="")
        return measure.Series(runs=[run])

    results = {"case": {"ref": series(2.0), "fast": series(1.0), "broken": measure.Series(error="x: it crashed")}}
    text = report.runs_table("T", "note", ["ref", "fast", "broken"], ["case"], results, dict.fromkeys(results["case"], "ref"))
    assert "| fast | 1.000 (0.50x) / 2.0 |" in text
    assert "| broken | fails: it crashed |" in text


def test_rotated_rounds_start_each_contender_in_turn() -> None:
    assert [measure.rotated("abc", r) for r in range(4)] == [list("abc"), list("bca"), list("cab"), list("abc")]
    assert measure.rotated([], 3) == []


def write_report(folder: Path, wheels: list[dict[str, object]], ok: bool = True) -> None:
    (folder / shipped.REPORT_NAME).write_text(json.dumps({"ok": ok, "target": "manylinux-x86_64", "wheels": wheels}))


def wheel_entry(folder: Path, variant: str) -> dict[str, object]:
    name = "jemalloc_sys" if variant == "base" else f"jemalloc_sys_{variant}"
    path = folder / f"{name}-5.3.1.0-py3-none-manylinux_2_17_x86_64.whl"
    path.write_bytes(b"PK")
    return {"variant": variant, "distribution": name.replace("_", "-"), "file": path.name, "size": 2, "sha256": "ab"}


def test_wheelhouse_gives_each_variant_the_base_and_its_companion(tmp_path: Path) -> None:
    write_report(tmp_path, [wheel_entry(tmp_path, v) for v in ("base", "profiling")])
    house = shipped.open_wheelhouse(tmp_path)
    assert [w.variant for w in house.for_variant("profiling")] == ["base", "profiling"]
    assert [w.variant for w in house.for_variant("base")] == ["base"]
    with pytest.raises(shipped.WheelhouseError, match="no stats wheel"):
        house.for_variant("stats")


def test_a_missing_or_failed_wheelhouse_fails_with_one_line_naming_the_main_command(tmp_path: Path) -> None:
    with pytest.raises(shipped.WheelhouseError) as missing:
        shipped.open_wheelhouse(tmp_path / "nowhere")
    assert "run `python -m wheel_builder` first" in str(missing.value) and "\n" not in str(missing.value)
    write_report(tmp_path, [wheel_entry(tmp_path, "base")], ok=False)
    with pytest.raises(shipped.WheelhouseError, match="failed its checks"):
        shipped.open_wheelhouse(tmp_path)


CONFIGURE_LOG = """checking for gcc... /opt/zig/zig cc -target x86_64-linux-gnu.2.17
===============================================================================
jemalloc version   : 5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8
CONFIG             : --prefix=/usr/local --disable-cxx
CC                 : /opt/zig/zig cc -target x86_64-linux-gnu.2.17
CONFIGURE_CFLAGS   : -std=gnu11 -Wall -pipe -g3 -fvisibility=hidden -O3 -funroll-loops
SPECIFIED_CFLAGS   :
"""

ZIG_DRIVER = """clang version 22.1.8
Target: x86_64-unknown-linux5.10.0-gnu2.17.0
 (in-process)
 "/opt/zig/zig" "-cc1" "-triple" "x86_64-unknown-linux5.10.0-gnu2.17.0" "-O2" "-emit-obj" "-mframe-pointer=all" "-target-cpu" "x86-64" "-funroll-loops" "-target-cpu" "x86-64"
"""
GCC_DRIVER = """Using built-in specs.
 /usr/lib/gcc/x86_64-linux-gnu/12/cc1 -quiet -imultiarch x86_64-linux-gnu probe.c -quiet -mtune=generic -march=x86-64 -O3 -funroll-loops -o /tmp/ccX.s
 as --64 -o probe.o /tmp/ccX.s
"""


def test_configure_summary_and_the_backends_real_optimization_level() -> None:
    summary = compilers.configure_summary(CONFIGURE_LOG)
    assert summary["CC"] == "/opt/zig/zig cc -target x86_64-linux-gnu.2.17"
    assert summary["CONFIGURE_CFLAGS"].endswith("-O3 -funroll-loops")
    assert summary["SPECIFIED_CFLAGS"] == ""
    assert compilers.optimization(summary["CONFIGURE_CFLAGS"].split()) == "-O3"
    zig = compilers.speed_flags(compilers.backend_line(ZIG_DRIVER))
    assert zig == ["-O2", "-mframe-pointer=all", "-target-cpu x86-64", "-funroll-loops"]
    gcc = compilers.speed_flags(compilers.backend_line(GCC_DRIVER))
    assert compilers.optimization(gcc) == "-O3" and "-march=x86-64" in gcc


def test_cache_entry_found_by_configure_arguments_and_compiler(tmp_path: Path) -> None:
    for name, cc in (("preload-aaa", ["gcc"]), ("preload-bbb", ["zig", "0.17.1", "cc"])):
        entry = tmp_path / "builds" / name
        entry.mkdir(parents=True)
        (entry / "build-record.json").write_text(json.dumps({"configure_args": ["--x"], "compiler": {"cc": cc}}))
        (entry / "configure.log").write_text(CONFIGURE_LOG)
    found = compilers.find_entry([tmp_path / "elsewhere", tmp_path], "preload", ["--x"], ["zig", "0.17.1", "cc"])
    assert found == tmp_path / "builds" / "preload-bbb"
    assert compilers.find_entry([tmp_path], "inprocess", ["--x"], ["gcc"]) is None


def test_extension_linkage_must_name_the_soname_and_bake_in_no_path() -> None:
    good = " 0x0000000000000001 (NEEDED)             Shared library: [libjemalloc_sys.so.2]\n"
    assert programs.linkage_problems(good) == []
    rpath = good + " 0x000000000000001d (RUNPATH)            Library runpath: [/tmp/site/jemalloc_sys/lib]\n"
    assert programs.linkage_problems(rpath) == ["has RUNPATH"]
    assert programs.linkage_problems(" 0x1 (NEEDED) Shared library: [libc.so.6]\n") == [
        "no DT_NEEDED libjemalloc_sys.so.2"]


def test_which_library_served_a_run() -> None:
    out = "allocator=/tmp/site/jemalloc_sys/lib/libjemalloc_sys_preload.so.2\nseconds=0.1\npeak_rss_kb=2000\n"
    assert tls.served_by(out) == "/tmp/site/jemalloc_sys/lib/libjemalloc_sys_preload.so.2"
    assert tls.served_by("seconds=0.1\n") == ""


def test_importtime_reads_the_cumulative_column_of_the_module() -> None:
    stderr = ("import time: self [us] | cumulative | imported package\n"
              "import time:       120 |        120 |   jemalloc_sys._names\n"
              "import time:       900 |       1234 | jemalloc_sys\n")
    assert footprint.importtime_ms(stderr, "jemalloc_sys") == 1.234
    with pytest.raises(RuntimeError):
        footprint.importtime_ms(stderr, "numpy")


def test_configure_argument_differences_are_named_not_just_flagged() -> None:
    from benchmarks import build_time, toolchain

    assert toolchain.arguments_differ(["--a", "--b"], ["--b", "--a"]) == "identical"
    assert toolchain.arguments_differ(["--a", "--x"], ["--a", "--y"]) == "only shipped --x, only host gcc --y"
    notes = build_time.argument_notes({"base inprocess": ["--a"], "profiling preload": ["--a", "--enable-prof-libgcc"],
                                       "debug preload": ["--a"]},
                                      {"base inprocess": ["--a"], "profiling preload": ["--a", "--enable-prof-frameptr"]})
    assert notes == ["- profiling preload: floor only --enable-prof-libgcc; shipped only --enable-prof-frameptr.",
                     "- debug preload: no shipped library to compare with."]
    assert build_time.argument_notes({"base inprocess": ["--a"]}, {"base inprocess": ["--a"]})[0].startswith("- none")


def test_a_ratio_that_rounds_to_one_is_not_listed_as_a_loss() -> None:
    def series(cpu: float) -> measure.Series:
        return measure.Series(runs=[measure.Run(wall=cpu, reported=None, cpu=cpu, max_rss_kb=1024, returncode=0,
                                                stdout="", stderr="")])

    results = {"c": {"ref": series(1.000), "ours-even": series(1.004), "ours-slower": series(1.02)}}
    found = report.losses(["ref", "ours-even", "ours-slower"], ["c"], results, dict.fromkeys(results["c"], "ref"),
                          lambda row: row.startswith("ours"))
    assert found == ["- ours-slower, c: CPU 1.02x of ref."]


def test_wheel_libraries_are_its_elf_files_not_the_linker_script(tmp_path: Path) -> None:
    import zipfile

    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("jemalloc_sys/lib/libjemalloc_sys.so", "INPUT(libjemalloc_sys.so.2)\n")
        zf.writestr("jemalloc_sys/lib/libjemalloc_sys.so.2", b"\x7fELF" + b"\0" * 2044)
        zf.writestr("jemalloc_sys/__init__.py", "")
    assert [(m.name, m.size) for m in footprint.libraries_in(wheel)] == [("jemalloc_sys/lib/libjemalloc_sys.so.2", 2048)]


def _runs(*seconds: float) -> measure.Series:
    return measure.Series(runs=[measure.Run(wall=s, reported=s, cpu=s + 0.1, max_rss_kb=1, returncode=0, stdout="",
                                            stderr="") for s in seconds])


def test_pyframes_table_states_each_goal_and_a_failed_row() -> None:
    from benchmarks import pyframes

    results = {pyframes.CASES["alloc"]: {pyframes.NATIVE: _runs(1.0, 1.0, 1.0), pyframes.FRAMES: _runs(1.02, 1.04, 1.03)},
               pyframes.CASES["calls"]: {pyframes.NATIVE: _runs(2.0), pyframes.FRAMES: measure.Series(error="boom")}}
    text = pyframes.render(results, 3, "/usr/bin/python3.13")
    assert "Python 3.13" in text
    assert "1.030 (1.03x)" in text
    assert "- Goal Python frames / native only, allocation-heavy (dicts, lists, bytes) <= 1.05: 1.03x, met." in text
    assert "call-heavy (recursion, one tuple per call) <= 1.03: n/a, not measured." in text
    assert "fails: boom" in text


def test_pyframes_workload_reports_its_loop_and_that_no_hook_ran(tmp_path: Path) -> None:
    import subprocess
    import sys

    from benchmarks import pyframes

    env = {k: v for k, v in os.environ.items() if k not in ("JEMALLOC_SYS_PYFRAMES", "LD_PRELOAD", "MALLOC_CONF")}
    for kind in ("alloc", "calls"):
        proc = subprocess.run([sys.executable, str(pyframes.WORKLOAD), str(tmp_path), kind, "2"], env=env,
                              capture_output=True, text=True, check=True)
        assert proc.stdout.splitlines()[1] == "pyframes=off"
        assert float(proc.stdout.splitlines()[0].removeprefix("seconds=")) >= 0
