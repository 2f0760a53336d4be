"""Tests for incidents.photos: validation and metadata-free re-encoding of photos."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image, ImageCms, ImageFile

from incidents.photos import PhotoPolicy, PhotoRejected, sanitize_photo, sanitize_photos


def _gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A deterministic, non-flat test picture."""
    ramp = Image.linear_gradient("L").resize(size)
    mirrored = ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return Image.merge("RGB", (ramp, mirrored, ramp)).convert(mode)


def _encode(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _phone_jpeg() -> bytes:
    """A 400×300 JPEG as stored by a phone held upright: orientation 6, GPS, serial, date."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° CW to display
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 15"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 15.2)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 29.9)
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2025:06:01 08:30:15"  # DateTimeOriginal
    sub[0x9011] = "+08:00"  # OffsetTimeOriginal
    sub[0xA431] = "SERIAL-123456"  # BodySerialNumber
    return _encode(_gradient((400, 300)), "JPEG", exif=exif, comment=b"secret comment")


def test_phone_jpeg_is_stripped_rotated_and_dated() -> None:
    data = _phone_jpeg()
    assert b"Exif" in data and b"SERIAL-123456" in data  # sanity: the input does carry it
    out = sanitize_photo(data, filename="IMG_0001.jpg")
    assert out.mime == "image/jpeg"
    assert (out.width, out.height) == (300, 400)  # upright: dimensions swapped
    assert out.had_location is True
    assert out.taken_at == datetime(2025, 6, 1, 8, 30, 15, tzinfo=timezone(timedelta(hours=8)))
    assert b"Exif" not in out.content
    assert b"\xff\xe1" not in out.content  # no APP1 segment (EXIF/XMP) at all
    for leaked in (b"SERIAL-123456", b"PhoneMaker", b"secret comment", b"http://ns.adobe"):
        assert leaked not in out.content
    with Image.open(io.BytesIO(out.content)) as im:
        assert im.format == "JPEG"
        assert im.size == (300, 400)
        assert len(im.getexif()) == 0
        assert "exif" not in im.info and "icc_profile" not in im.info
        assert "comment" not in im.info


def test_rotation_puts_the_right_pixels_on_top() -> None:
    # Stored landscape with a red left column; orientation 6 means that column is the top.
    im = Image.new("RGB", (200, 100), "blue")
    im.paste((255, 0, 0), (0, 0, 20, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = sanitize_photo(_encode(im, "JPEG", exif=exif, quality=95))
    with Image.open(io.BytesIO(out.content)) as res:
        pixel = res.convert("RGB").getpixel((50, 5))
    assert isinstance(pixel, tuple) and pixel[0] > 200 and pixel[2] < 60


def test_no_metadata_means_no_location_and_no_date() -> None:
    out = sanitize_photo(_encode(_gradient((64, 48)), "JPEG"))
    assert out.had_location is False
    assert out.taken_at is None
    assert len(out.sha256) == 64 and out.sha256 != out.original_sha256


def test_gps_block_without_coordinates_is_not_a_location() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8825)[0] = b"\x02\x02\x00\x00"  # GPSVersionID only
    data = _encode(_gradient((64, 48)), "JPEG", exif=exif)
    assert sanitize_photo(data).had_location is False


def test_icc_profile_is_applied_then_dropped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = sanitize_photo(_encode(_gradient((64, 48)), "JPEG", icc_profile=srgb))
    with Image.open(io.BytesIO(out.content)) as res:
        assert "icc_profile" not in res.info and res.mode == "RGB"


def test_cmyk_jpeg_becomes_rgb() -> None:
    out = sanitize_photo(_encode(_gradient((64, 48), "CMYK"), "JPEG"))
    with Image.open(io.BytesIO(out.content)) as res:
        assert res.mode == "RGB"


def test_location_in_xmp_is_detected_and_dropped() -> None:
    xmp = b'<x:xmpmeta><rdf:Description exif:GPSLatitude="39,54.25N"/></x:xmpmeta>'
    data = _encode(_gradient((64, 48)), "JPEG", xmp=xmp)
    assert b"GPSLatitude" in data
    out = sanitize_photo(data)
    assert out.had_location is True
    assert b"GPSLatitude" not in out.content


def test_png_with_alpha_stays_png() -> None:
    im = _gradient((120, 80), "RGBA")
    im.putalpha(Image.linear_gradient("L").resize((120, 80)))
    out = sanitize_photo(_encode(im, "PNG"), filename="sign.png")
    assert out.mime == "image/png"
    with Image.open(io.BytesIO(out.content)) as res:
        assert res.format == "PNG" and res.mode == "RGBA" and res.size == (120, 80)


def test_opaque_png_becomes_jpeg() -> None:
    out = sanitize_photo(_encode(_gradient((120, 80), "RGBA"), "PNG"))
    assert out.mime == "image/jpeg"


def test_webp_is_accepted() -> None:
    out = sanitize_photo(_encode(_gradient((90, 60)), "WEBP"))
    assert (out.mime, out.width, out.height) == ("image/jpeg", 90, 60)


def test_large_image_is_downscaled_to_max_edge() -> None:
    out = sanitize_photo(_encode(_gradient((3000, 2000)), "JPEG"))
    assert (out.width, out.height) == (2560, 1707)
    small = sanitize_photo(
        _encode(_gradient((3000, 2000)), "PNG"), policy=PhotoPolicy(max_edge=300)
    )
    assert (small.width, small.height) == (300, 200)


def test_output_is_deterministic() -> None:
    data = _phone_jpeg()
    a, b = sanitize_photo(data), sanitize_photo(data)
    assert a.content == b.content and a.sha256 == b.sha256


def test_text_file_named_jpg_is_not_an_image() -> None:
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photo(b"just some text, honest\n" * 10, filename="evidence.jpg")
    assert exc.value.code == "not_an_image"
    assert "evidence.jpg" in str(exc.value)


def test_truncated_jpeg_is_not_an_image() -> None:
    data = _encode(_gradient((400, 300)), "JPEG")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photo(data[: len(data) // 2])
    assert exc.value.code == "not_an_image"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_decodable_but_unsupported_formats(fmt: str) -> None:
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photo(_encode(_gradient((32, 32)), fmt), filename=f"x.{fmt.lower()}")
    assert exc.value.code == "unsupported_image_type"
    assert fmt in str(exc.value)


def test_heic_is_unsupported_not_garbage() -> None:
    fake_heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photo(fake_heic, filename="IMG_0002.HEIC")
    assert exc.value.code == "unsupported_image_type"


def test_too_large_is_rejected_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("must not decode")

    monkeypatch.setattr(Image, "open", boom)
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photo(b"\xff\xd8" + b"\x00" * 1000, policy=PhotoPolicy(max_bytes=1000))
    assert exc.value.code == "photo_too_large"


def test_default_byte_limit() -> None:
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photo(b"\x00" * (8 * 1024 * 1024 + 1))
    assert exc.value.code == "photo_too_large"


@pytest.mark.parametrize("size", [(7000, 7000), (20000, 20000)])
def test_decompression_bomb_is_rejected_without_decoding(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 1-bit blank image compresses to a few KiB whatever its dimensions. (7000² is over our
    # 40 MP limit but under Pillow's own guard; 20000² trips Pillow's guard at open.)
    data = _encode(Image.new("1", size), "PNG")
    assert len(data) < 100_000

    def no_decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels must not be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photo(data, filename="bomb.png")
    assert exc.value.code == "image_too_many_pixels"


def test_seven_photos_are_too_many() -> None:
    photo = _encode(_gradient((16, 16)), "JPEG")
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photos([(f"p{i}.jpg", photo) for i in range(6)] + [("bad.jpg", b"nope")])
    assert exc.value.code == "too_many_photos"  # count is checked before any photo
    assert len(sanitize_photos([(f"p{i}.jpg", photo) for i in range(6)])) == 6


def test_batch_is_all_or_nothing_and_names_the_bad_photo() -> None:
    photo = _encode(_gradient((16, 16)), "JPEG")
    items = [("a.jpg", photo), ("b.jpg", photo), ("notes.jpg", b"hello"), ("d.jpg", photo)]
    with pytest.raises(PhotoRejected) as exc:
        sanitize_photos(items)
    assert exc.value.code == "not_an_image"
    assert exc.value.index == 2 and exc.value.filename == "notes.jpg"
    assert "Photo 3" in str(exc.value) and "notes.jpg" in str(exc.value)


def test_16_bit_greyscale_png_is_scaled_not_clipped() -> None:
    grey16 = Image.new("I;16", (32, 32), 128 * 256)
    out = sanitize_photo(_encode(grey16, "PNG"))
    with Image.open(io.BytesIO(out.content)) as res:
        pixel = res.convert("L").getpixel((16, 16))
    assert isinstance(pixel, int) and 120 <= pixel <= 136
