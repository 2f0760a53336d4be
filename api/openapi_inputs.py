"""Declare in the OpenAPI document the inputs routes read themselves, so clients and the
fuzzer (``reliability/fuzz.py``) can make valid requests from the document alone:

* ``POST /api/v1/reports`` reads its body itself (JSON, or multipart with photos): its JSON
  shape is :class:`incidents.schemas.ReportIn`;
* the Open311 format suffix ``{fmt}`` is ``json`` or ``xml`` (another suffix is a 404);
* a photo (``…/photos/{photo_id}``) is answered as an image, not JSON.
"""

from __future__ import annotations

from typing import Any

from incidents.schemas import ReportIn

REF = "#/components/schemas/{model}"
FORMATS = ["json", "xml"]


def add_inputs(document: dict[str, Any]) -> dict[str, Any]:
    """Add the inputs to ``document`` (changed in place and returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    report = ReportIn.model_json_schema(ref_template=REF)
    for name, sub in report.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas["ReportIn"] = report
    filing = document.get("paths", {}).get("/api/v1/reports", {}).get("post")
    if filing is not None and "requestBody" not in filing:
        filing["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ReportIn")}}},
        }
    image = {"schema": {"type": "string", "format": "binary"}}
    for path, operations in document.get("paths", {}).items():
        if path.endswith("/photos/{photo_id}") and "get" in operations:
            ok = operations["get"].setdefault("responses", {}).setdefault("200", {})
            ok["content"] = {mime: image for mime in ("image/jpeg", "image/png", "image/webp")}
        if not path.startswith("/open311/"):
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "fmt" and parameter.get("in") == "path":
                    parameter["schema"] = {"type": "string", "enum": FORMATS, "title": "Fmt"}
    return document
