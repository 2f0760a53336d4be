"""The API's one error body, as a Pydantic model for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ErrorOut(BaseModel):
    """``{"code": ..., "message": ...}``: a stable machine code and a human sentence.

    Some errors add details beside them (``problems`` of a rejected boundary file, the
    ``nearest`` town of a point outside the district, the ``errors`` of an invalid request).
    """

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
