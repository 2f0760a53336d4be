"""Validation and metadata-free re-encoding of residents' phone photos.

Photos are decoded for real (never trusting file names or content types), turned upright,
converted to sRGB, downscaled and re-encoded from pixels only: no EXIF (GPS, camera serial),
XMP, ICC or comments survive. Kept from the metadata: *whether* it had a location, and when
the photo was taken.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from PIL import Image, ImageCms, ImageOps

RejectionCode = Literal[
    "photo_too_large",
    "too_many_photos",
    "not_an_image",
    "unsupported_image_type",
    "image_too_many_pixels",
    "photos_too_many_pixels",
    "photos_too_slow",
]

_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
# ISO-BMFF brands of HEIF/HEIC files (iPhone default), which Pillow cannot decode.
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class PhotoPolicy:
    """Limits applied to uploaded photos.

    Attributes
    ----------
    max_count : int
        Maximum number of photos per report.
    max_bytes : int
        Maximum size of one uploaded file, checked before decoding.
    max_pixels : int
        Maximum declared width × height, checked before any pixel is decoded
        (decompression-bomb guard).
    allowed_formats : frozenset of str
        Pillow format names accepted as input (MPO, the multi-picture JPEG variant that
        many phones produce, counts as JPEG).
    max_total_pixels : int
        Maximum declared pixels of all photos of one request together, checked from the
        files' headers before any photo is decoded.
    max_seconds : float
        Time budget of one request's decoding: once spent, the remaining photos are refused
        (checked between photos; each is bounded by ``max_pixels``).
    max_edge : int
        Longest edge of the re-encoded photo, in pixels.
    jpeg_quality : int
        Quality of the JPEG re-encode.
    """

    max_count: int = 6
    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_total_pixels: int = 80_000_000  # six 12-megapixel phone photos, with room to spare
    max_seconds: float = 5.0
    allowed_formats: frozenset[str] = field(default=frozenset({"JPEG", "PNG", "WEBP"}))
    max_edge: int = 2560
    jpeg_quality: int = 85


@dataclass(frozen=True)
class SanitizedPhoto:
    """A photo re-encoded from pixels only, with no metadata.

    Attributes
    ----------
    content : bytes
        The re-encoded file (JPEG, or PNG when the original has real transparency).
    mime : str
        ``"image/jpeg"`` or ``"image/png"``.
    width, height : int
        Dimensions of ``content``, upright.
    sha256 : str
        Hex SHA-256 of ``content``.
    original_sha256 : str
        Hex SHA-256 of the uploaded bytes.
    had_location : bool
        Whether the original carried GPS data (the coordinates themselves are discarded).
    taken_at : datetime or None
        EXIF ``DateTimeOriginal``; timezone-aware only if ``OffsetTimeOriginal`` was present.
    """

    content: bytes
    mime: str
    width: int
    height: int
    sha256: str
    original_sha256: str
    had_location: bool
    taken_at: datetime | None


class PhotoRejected(ValueError):
    """A photo (or a set of photos) was refused.

    Parameters
    ----------
    code : RejectionCode
        Stable machine-readable reason.
    message : str
        Human-readable reason, naming the photo.
    index : int or None
        0-based position of the photo in the submitted list, if known.
    filename : str
        Client-supplied file name, for display only.
    """

    def __init__(
        self, code: RejectionCode, message: str, *, index: int | None = None, filename: str = ""
    ) -> None:
        super().__init__(message)
        self.code: RejectionCode = code
        self.index = index
        self.filename = filename


def _label(index: int | None, filename: str) -> str:
    label = "Photo" if index is None else f"Photo {index + 1}"
    return f"{label} {filename[:80]!r}" if filename else label


def _exif_facts(im: Image.Image) -> tuple[bool, datetime | None]:
    """Return (had_location, taken_at) from the image's EXIF/XMP; never raises."""
    try:
        exif = im.getexif()
        gps = exif.get_ifd(_GPS_IFD)  # 2/4: GPSLatitude/GPSLongitude (not just a GPS IFD)
        had_location = 2 in gps or 4 in gps
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # malformed EXIF must not make a photo unusable
        had_location, sub = False, {}
    xmp = im.info.get("xmp") or b""
    xmp_bytes = xmp.encode() if isinstance(xmp, str) else bytes(xmp)
    had_location = had_location or b"GPSLatitude" in xmp_bytes
    raw = str(sub.get(_DATETIME_ORIGINAL) or "").strip("\x00 ")
    offset = str(sub.get(_OFFSET_TIME_ORIGINAL) or "").strip("\x00 ")
    try:
        fmt = "%Y:%m:%d %H:%M:%S" + ("%z" if offset else "")
        return had_location, datetime.strptime(raw + offset, fmt)
    except ValueError:
        return had_location, None


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert to RGB, or RGBA when there is real transparency, honouring an ICC profile."""
    if im.mode.startswith("I"):  # 16-bit greyscale: scale to 8 bits rather than clip
        im = im.convert("I").point(lambda v: v / 256).convert("L")
    alpha = im.has_transparency_data
    target = "RGBA" if alpha else "RGB"
    icc = im.info.get("icc_profile")
    out: Image.Image | None = None
    if icc and im.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out = ImageCms.profileToProfile(im, src, _SRGB, outputMode=target)
        except (ImageCms.PyCMSError, OSError, ValueError):
            out = None  # unusable profile: fall back to a plain conversion
    if out is None:
        out = im.convert(target)
    if alpha and out.getchannel("A").getextrema() == (255, 255):
        out = out.convert("RGB")  # alpha channel present but fully opaque
    return out


def _sanitize(data: bytes, filename: str, policy: PhotoPolicy, index: int | None) -> SanitizedPhoto:
    def reject(code: RejectionCode, why: str) -> PhotoRejected:
        label = _label(index, filename)
        return PhotoRejected(code, f"{label}: {why}", index=index, filename=filename)

    if len(data) > policy.max_bytes:
        mib, limit = len(data) / 2**20, policy.max_bytes / 2**20
        raise reject("photo_too_large", f"file is {mib:.1f} MiB, the limit is {limit:.1f} MiB")
    try:
        im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise reject("image_too_many_pixels", "image has too many pixels") from exc
    except Exception as exc:
        if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
            raise reject("unsupported_image_type", "HEIF/HEIC photos are not supported") from exc
        raise reject("not_an_image", "file is not a readable image") from exc
    fmt = "JPEG" if im.format == "MPO" else im.format
    if fmt not in policy.allowed_formats:
        allowed = ", ".join(sorted(policy.allowed_formats))
        raise reject("unsupported_image_type", f"{fmt} images are not accepted (use {allowed})")
    width, height = im.size
    if width * height > policy.max_pixels:
        why = f"image is {width}×{height} pixels, the limit is {policy.max_pixels:,}"
        raise reject("image_too_many_pixels", why)
    try:
        im.verify()
        im = Image.open(io.BytesIO(data))  # verify() leaves the image unusable: reopen
        im.draft(None, (policy.max_edge, policy.max_edge))  # JPEG: decode at reduced scale
        im.load()
    except Image.DecompressionBombError as exc:
        raise reject("image_too_many_pixels", "image has too many pixels") from exc
    except Exception as exc:
        raise reject("not_an_image", "image data is corrupt or truncated") from exc

    had_location, taken_at = _exif_facts(im)
    upright: Image.Image = im
    with contextlib.suppress(Exception):  # malformed orientation: keep pixels as stored
        upright = ImageOps.exif_transpose(im)
    out = _to_srgb(upright)
    if max(out.size) > policy.max_edge:
        out.thumbnail((policy.max_edge, policy.max_edge), Image.Resampling.LANCZOS)
    out.info = {}  # encoders fall back to im.info for ICC/comments/transparency: drop it all

    buf = io.BytesIO()
    if out.mode == "RGBA":
        out.save(buf, format="PNG")
        mime = "image/png"
    else:
        out.save(buf, format="JPEG", quality=policy.jpeg_quality, optimize=True)
        mime = "image/jpeg"
    content = buf.getvalue()
    return SanitizedPhoto(
        content=content,
        mime=mime,
        width=out.width,
        height=out.height,
        sha256=hashlib.sha256(content).hexdigest(),
        original_sha256=hashlib.sha256(data).hexdigest(),
        had_location=had_location,
        taken_at=taken_at,
    )


def sanitize_photo(
    data: bytes, *, filename: str = "", policy: PhotoPolicy | None = None
) -> SanitizedPhoto:
    """Validate one uploaded photo and re-encode it without metadata.

    Parameters
    ----------
    data : bytes
        The uploaded file. Its type is determined from its content only.
    filename : str, optional
        Client-supplied name, used only in error messages.
    policy : PhotoPolicy, optional
        Limits; defaults to ``PhotoPolicy()``.

    Returns
    -------
    SanitizedPhoto
        Upright, sRGB, at most ``policy.max_edge`` on its longest side; JPEG, or PNG when
        the original has real transparency. Identical input gives identical output.

    Raises
    ------
    PhotoRejected
        With ``code`` ``photo_too_large`` (checked before decoding), ``not_an_image``,
        ``unsupported_image_type`` or ``image_too_many_pixels`` (checked before decoding).
    """
    return _sanitize(data, filename, policy or PhotoPolicy(), None)


def sanitize_photos(
    items: Sequence[tuple[str, bytes]], *, policy: PhotoPolicy | None = None
) -> list[SanitizedPhoto]:
    """Validate and re-encode all photos of a report, all or nothing.

    Parameters
    ----------
    items : sequence of (str, bytes)
        ``(filename, data)`` pairs in submission order.
    policy : PhotoPolicy, optional
        Limits; defaults to ``PhotoPolicy()``.

    Returns
    -------
    list of SanitizedPhoto
        In the same order as ``items``.

    Raises
    ------
    PhotoRejected
        ``too_many_photos`` (checked first), ``photos_too_many_pixels`` (all photos' declared
        pixels, before any is decoded), ``photos_too_slow`` (the time budget spent), or the
        first failing photo's error with its ``index`` set.
    """
    policy = policy or PhotoPolicy()
    if len(items) > policy.max_count:
        raise PhotoRejected(
            "too_many_photos",
            f"{len(items)} photos submitted, at most {policy.max_count} are allowed",
        )
    declared = sum(_declared_pixels(data) for _, data in items)
    if declared > policy.max_total_pixels:
        raise PhotoRejected(
            "photos_too_many_pixels",
            f"the photos have {declared:,} pixels together, "
            f"the limit is {policy.max_total_pixels:,} per report",
        )
    started = time.monotonic()
    out: list[SanitizedPhoto] = []
    for i, (name, data) in enumerate(items):
        if out and time.monotonic() - started > policy.max_seconds:
            raise PhotoRejected(
                "photos_too_slow",
                f"decoding the photos took longer than {policy.max_seconds:g} s; "
                "send fewer or smaller photos",
                index=i,
                filename=name,
            )
        out.append(_sanitize(data, name, policy, i))
    return out


def _declared_pixels(data: bytes) -> int:
    """Width × height from the file's header (no pixel decoded); 0 when unreadable (the
    photo's own check then refuses it)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
    except Exception:  # refused with its reason when sanitized
        return 0
    return int(width) * int(height)
