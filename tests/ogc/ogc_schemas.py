"""The OGC API – Features JSON schemas of ``schemas/`` (copied from the standard's repository,
see its README), loaded for ``jsonschema``: validators of the landing page, conformance,
collections, a collection (Part 1 with Part 2's ``storageCrs``) and a GeoJSON feature
collection."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

HERE = Path(__file__).with_name("schemas")
BASE = "https://ogc.test/schemas/"


def _nulls(node: Any) -> Any:
    """YAML reads ``type: null`` (the files' OpenAPI 3.1 spelling) as None: JSON Schema's
    type is the string ``"null"``."""
    if isinstance(node, dict):
        return {k: ("null" if k == "type" and v is None else _nulls(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [("null" if v is None else _nulls(v)) for v in node]
    return node


@cache
def _registry() -> Registry:
    resources = [
        (
            BASE + p.name,
            Resource.from_contents(
                _nulls(yaml.safe_load(p.read_text())), default_specification=_spec()
            ),
        )
        for p in HERE.glob("*.yaml")
    ]
    return Registry().with_resources(resources)


def _spec() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


def validator(name: str) -> Draft202012Validator:
    """A validator of ``schemas/<name>.yaml``; ``collection`` and ``collections`` include the
    CRS extension (``allOf`` the Core schema and Part 2's)."""
    extension = {"collection": "collectionExtensionCrs", "collections": "collectionsExtensionCrs"}
    refs = [{"$ref": BASE + f"{name}.yaml"}]
    if name in extension:
        refs.append({"$ref": BASE + f"{extension[name]}.yaml"})
    return Draft202012Validator({"allOf": refs}, registry=_registry())


def errors(name: str, document: Any) -> list[str]:
    """Every way ``document`` breaks the schema ``name`` (empty: valid)."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(name).iter_errors(document)
    ]
