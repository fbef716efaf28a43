"""SOUP list / SBOM: the installed Python distributions as a CycloneDX 1.5 JSON document, with
versions, licences (as the packages declare them) and package URLs."""

from __future__ import annotations

import importlib.metadata as md
import re
import uuid
from datetime import UTC, datetime


def _licence(meta) -> str | None:
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    if classifiers:
        return " OR ".join(sorted(set(classifiers)))
    text = (meta.get("License") or "").strip()
    return text.splitlines()[0][:100] if text and text.upper() != "UNKNOWN" else None


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def build_sbom(project: str = "cds-toolkit") -> dict:
    components, seen = [], set()
    for dist in md.distributions():
        name = dist.metadata.get("Name")
        if not name or _normalise(name) in seen or _normalise(name) == project:
            continue
        seen.add(_normalise(name))
        licence = _licence(dist.metadata)
        component = {
            "type": "library",
            "name": _normalise(name),
            "version": dist.version,
            "purl": f"pkg:pypi/{_normalise(name)}@{dist.version}",
        }
        if licence:
            component["licenses"] = [{"license": {"name": licence}}]
        components.append(component)
    components.sort(key=lambda c: c["name"])
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "component": {"type": "application", "name": project,
                          "version": md.version(project) if _installed(project) else "0"},
        },
        "components": components,
    }


def _installed(name: str) -> bool:
    try:
        md.version(name)
        return True
    except md.PackageNotFoundError:
        return False
