"""A PEP 770 SBOM for the jemalloc a wheel bundles.

Scanners (pip-audit, Syft, GitHub's dependency graph) cannot see a C library
inside a wheel; PEP 770 lets the wheel say so in ``.dist-info/sboms/``. The
document is CycloneDX 1.6 JSON built only from the pinned manifest and the build
record, with no timestamp or random serial number, so that two builds of the
same variant stay byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .manifest import Manifest

SBOM_NAME = "jemalloc.cdx.json"
"""File name under ``<name>.dist-info/sboms/``."""


def purl(mf: Manifest) -> str:
    return f"pkg:github/jemalloc/jemalloc@{mf.version}"


def document(mf: Manifest, record: Mapping[str, Any], *, distribution: str, version: str) -> dict[str, Any]:
    """The CycloneDX document: our distribution as the subject, jemalloc as its one component."""
    source_sha = (record.get("source") or {}).get("sha256") or mf.tarball.sha256
    properties = [
        {"name": "jemalloc-sys:features", "value": ",".join(record.get("features", []))},
        {"name": "jemalloc-sys:configure_args", "value": " ".join(record.get("configure_args", []))},
        {"name": "jemalloc-sys:symbol_prefix", "value": str(record.get("symbol_prefix", ""))},
    ]
    component = {
        "type": "library",
        "bom-ref": purl(mf),
        "name": "jemalloc",
        "version": mf.version,
        "description": "general purpose malloc(3) implementation, bundled as a shared library",
        "licenses": [{"license": {"id": mf.license}}],
        "purl": purl(mf),
        "externalReferences": [
            {"type": "website", "url": mf.homepage},
            {
                "type": "source-distribution",
                "url": mf.tarball.urls[0] if mf.tarball.urls else mf.homepage,
                "comment": f"{mf.tarball.filename}, commit {mf.commit}",
                "hashes": [{"alg": "SHA-256", "content": source_sha}],
            },
        ],
        "properties": properties,
    }
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "component": {"type": "library", "bom-ref": f"pkg:pypi/{distribution}@{version}",
                          "name": distribution, "version": version, "purl": f"pkg:pypi/{distribution}@{version}"},
        },
        "components": [component],
        "dependencies": [{"ref": f"pkg:pypi/{distribution}@{version}", "dependsOn": [purl(mf)]}],
    }


def render(mf: Manifest, record: Mapping[str, Any], *, distribution: str, version: str) -> str:
    return json.dumps(document(mf, record, distribution=distribution, version=version), indent=2, sort_keys=True) + "\n"
