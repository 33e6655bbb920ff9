"""Drive rattler-build on ``recipe/`` with no network; run as a child process (under ``unshare -n`` when possible).

``python tests/conda/offline.py render OUT.json linux-64 win-64 ...``
    render the recipe for each platform; write what came out.
``python tests/conda/offline.py build OUT.json WORK VARIANT...``
    make the stand-in channel in ``WORK/channel``, build the variants into
    ``WORK/out`` with rattler-build (recipe tests run: ``test_strategy="native"``),
    then run every artifact's tests again through ``Package.run_tests``;
    write the artifacts and test results.

The recipe's source is jemalloc-sys's sdist, named by ``JEMALLOC_SYS_SDIST_URL``
(a ``file://`` URL here) and ``JEMALLOC_SYS_SDIST_SHA256`` in the environment.
Either way the JSON also holds the network interfaces the process saw, so a
test can check that it really ran without network.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipe" / "recipe.yaml"
VARIANTS = ROOT / "recipe" / "variants.yaml"
sys.path.insert(0, str(ROOT))

from tests.conda import channel as channel_mod  # noqa: E402


def interfaces() -> list[str]:
    lines = Path("/proc/net/dev").read_text(encoding="utf-8").splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines)


def _variant_config(platform: str, overrides: dict[str, list[str]] | None = None) -> Any:
    import yaml
    from rattler_build import JinjaConfig, PlatformConfig, VariantConfig

    config = VariantConfig.from_file_with_context(str(VARIANTS), JinjaConfig(platform=PlatformConfig(
        target_platform=platform)))
    if overrides:
        config = config.merge(VariantConfig.from_yaml(yaml.safe_dump(overrides)))
    return config


def render(platforms: list[str]) -> dict[str, Any]:
    from rattler_build import PlatformConfig, RenderConfig, Stage0Recipe

    recipe = Stage0Recipe.from_file(RECIPE)
    out: dict[str, Any] = {}
    for platform in platforms:
        pc = PlatformConfig(target_platform=platform)
        rows = []
        for variant in recipe.render(_variant_config(platform), RenderConfig(platform=pc)):
            stage1 = variant.recipe
            rows.append({"name": stage1.package.name, "build_string": str(stage1.build.string),
                         "noarch": str(stage1.build.noarch), "variant": dict(variant.variant),
                         "recipe": stage1.to_dict()})
        out[platform] = rows
    return out


class _Log:
    """rattler-build's progress events, as plain lines on stderr (the test shows them when a build fails)."""

    def on_download_start(self, event: Any) -> None:
        print(f"download {event.url}", file=sys.stderr)

    def on_download_progress(self, event: Any) -> None:
        pass

    def on_download_complete(self, event: Any) -> None:
        pass

    def on_build_step(self, event: Any) -> None:
        print(f"[{event.step_name}] {event.message}", file=sys.stderr)

    def on_log(self, event: Any) -> None:
        print(f"{event.level}: {event.message}", file=sys.stderr)


def build(work: Path, variants: list[str]) -> dict[str, Any]:
    from rattler_build import Package, PlatformConfig, RenderConfig, Stage0Recipe, ToolConfiguration

    subdir = "linux-64"
    channel = work / "channel"
    output = work / "out"
    started = time.monotonic()
    channel_mod.make_channel(channel, subdir=subdir)
    overrides = {**channel_mod.variant_overrides(subdir), "jemalloc_variant": variants}
    recipe = Stage0Recipe.from_file(RECIPE)
    results = recipe.run_build(
        _variant_config(subdir, overrides), tool_config=ToolConfiguration(test_strategy="native"),
        output_dir=output, channels=[channel.as_uri()], progress_callback=_Log(),
        render_config=RenderConfig(platform=PlatformConfig(target_platform=subdir)),
    )
    built = sorted({str(p) for r in results for p in r.packages})
    seconds = time.monotonic() - started
    tests: dict[str, list[dict[str, Any]]] = {}
    for path in built:
        package = Package.from_file(path)
        tests[path] = [{"index": r.test_index, "success": r.success, "output": "\n".join(r.output)}
                       for r in package.run_tests(channel=[output.as_uri(), channel.as_uri()])]
    return {"packages": built, "build_seconds": seconds, "tests": tests, "channel": str(channel),
            "output": str(output)}


def main(argv: list[str]) -> int:
    command, out_file, *rest = argv
    if command == "render":
        result = render(rest)
    elif command == "build":
        result = build(Path(rest[0]), rest[1:])
    else:
        raise SystemExit(f"unknown command {command!r}; use render or build")
    result_doc = {"interfaces": interfaces(), "result": result}
    Path(out_file).write_text(json.dumps(result_doc, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
