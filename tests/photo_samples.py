"""Photos for the field kit's tests: a phone-like JPEG with EXIF GPS and device data, and
hostile uploads (a decompression bomb, a header claiming huge dimensions)."""

from __future__ import annotations

import base64
import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
MAKE, MODEL = 0x010F, 0x0110
GPS = {1: "N", 2: (31.0, 52.0, 12.5), 3: "E", 4: (117.0, 17.0, 3.25)}
"""A GPS position in Hefei (N 31°52′, E 117°17′)."""


def jpeg_with_gps(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG with EXIF: camera make/model and a GPS position."""
    image = Image.new("RGB", size, (200, 120, 40))
    for x in range(0, size[0], 16):  # some detail, so the JPEG is not trivial
        image.putpixel((x, x % size[1]), (0, 0, 255))
    exif = Image.Exif()
    exif[MAKE] = "Apple"
    exif[MODEL] = "iPhone 15 Pro"
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    """Whether the image's EXIF holds a GPS position."""
    return bool(Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD))


def bomb_png(side: int = 7000) -> bytes:
    """A small PNG that decodes to ``side``² pixels (49 megapixels by default)."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def huge_header_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims ``width``×``height`` pixels, with one tiny data chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def data_url(data: bytes, media: str = "image/jpeg") -> str:
    """``data`` as the data URL a ``dcc.Upload`` sends."""
    return f"data:{media};base64," + base64.b64encode(data).decode()
