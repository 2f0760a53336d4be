"""Reading a filing's body: JSON, or a form (multipart with ``photos`` files, or urlencoded),
into its Pydantic model; the first validation problem becomes :class:`InvalidReport`."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from incidents.exceptions import InvalidReport
from incidents.photos import PhotoRejected, SanitizedPhoto, sanitize_photos

M = TypeVar("M", bound=BaseModel)
Photos = list[tuple[str, bytes]]
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def read_filing(
    request: Request, model: type[M], *, drop_empty: bool = False
) -> tuple[M, Photos]:
    """The body as ``model`` and its photos (file name, bytes); with ``drop_empty``, empty form
    fields are left out (so they take the model's defaults)."""
    ctype = request.headers.get("content-type", "")
    photos: Photos = []
    try:
        if ctype.startswith(FORMS):
            form = await request.form(max_files=20, max_fields=50)
            fields = {
                k: v for k, v in form.items() if isinstance(v, str) and not (drop_empty and v == "")
            }
            for item in form.getlist("photos"):
                if not isinstance(item, str):
                    photos.append((item.filename or "", await item.read()))
            return model.model_validate(fields), photos
        return model.model_validate_json(await request.body()), photos
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidReport(f"{where}: {first['msg']}") from exc


def parse_json(raw: bytes, model: type[M]) -> M:
    """A JSON body as ``model``; the first validation problem becomes :class:`InvalidReport`."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidReport(f"{where}: {first['msg']}") from exc


def photos_of(files: Photos) -> list[SanitizedPhoto]:
    """A filing's photos re-encoded without metadata (all or nothing); a refused one becomes
    :class:`InvalidReport` naming it (``photo_error``: its code)."""
    try:
        return sanitize_photos(files) if files else []
    except PhotoRejected as exc:
        raise InvalidReport(str(exc), photo_error=exc.code) from exc
