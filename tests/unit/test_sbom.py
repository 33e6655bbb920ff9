"""jemalloc_build.sbom: the CycloneDX document each wheel carries."""

from __future__ import annotations

import json

from jemalloc_build import project, sbom
from jemalloc_build.manifest import load as load_manifest

VERSION = project.version()


def test_sbom_names_jemalloc_and_its_source_checksum() -> None:
    mf = load_manifest()
    record = {"features": ["stats"], "configure_args": ["--enable-stats"], "symbol_prefix": "_rjem_",
              "source": {"sha256": mf.tarball.sha256}}
    doc = json.loads(sbom.render(mf, record, distribution="jemalloc-sys-stats", version=VERSION))
    assert doc["bomFormat"] == "CycloneDX"
    (component,) = doc["components"]
    assert (component["name"], component["version"]) == ("jemalloc", "5.3.1")
    assert component["licenses"] == [{"license": {"id": "BSD-2-Clause"}}]
    hashes = [h["content"] for ref in component["externalReferences"] for h in ref.get("hashes", [])]
    assert hashes == [mf.tarball.sha256]
    assert sbom.render(mf, record, distribution="x", version="1") == sbom.render(mf, record, distribution="x",
                                                                                 version="1")
