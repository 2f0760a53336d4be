"""One boundary as a lookup answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jurisdictions.models import Layer


@dataclass(frozen=True)
class Area:
    """One boundary as a lookup answer."""

    id: int
    generation_id: int
    layer: str
    agency: str
    code: str
    name: str
    name_en: str
    kind: str | None
    parent_code: str | None
    property_company: str | None
    owners_committee: bool | None

    def brief(self) -> dict[str, Any]:
        """The fields an API answer shows for this layer."""
        out: dict[str, Any] = {"code": self.code, "name": self.name}
        if self.layer == Layer.town:
            out["kind"] = self.kind
        elif self.layer == Layer.property_area:
            out["property_company"] = self.property_company or ""
            out["owners_committee"] = bool(self.owners_committee)
        return out
