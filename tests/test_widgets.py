"""experiments.explorers.png_bytes (Pillow) shows the same pixels as the hand-written encoder it replaced."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from lowfreq.experiments import explorers
from lowfreq.report import widgets


def _old_png_bytes(image: torch.Tensor | np.ndarray, *, scale: int = 1) -> bytes:
    """The encoder png_bytes had before it used Pillow (struct + zlib, no filter), kept as the reference."""
    a = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)
    u8 = np.round(np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)
    if scale > 1:
        u8 = np.repeat(np.repeat(u8, int(scale), axis=0), int(scale), axis=1)
    h, w = u8.shape[:2]
    color_type = 0 if u8.ndim == 2 else 2
    rows = u8.reshape(h, -1)
    raw = b"".join(b"\x00" + rows[i].tobytes() for i in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _decode(data: bytes) -> tuple[str, np.ndarray]:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.mode, np.asarray(im).copy()


def _chunk_tags(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    tags, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        tags.append(data[i + 4:i + 8])
        i += 12 + n
    return tags


def _images() -> list[tuple[str, torch.Tensor | np.ndarray]]:
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(3, 9, 13, generator=g)
    return [
        ("rgb", rgb),
        ("grey (1, H, W)", torch.rand(1, 7, 5, generator=g)),
        ("grey (H, W) numpy", np.random.default_rng(1).random((6, 4))),
        ("out of range, clipped", rgb * 3 - 1),
        ("one pixel", torch.full((3, 1, 1), 0.5)),
        ("exact 8-bit levels", torch.arange(256.0).reshape(1, 16, 16) / 255),
    ]


@pytest.mark.parametrize("scale", [1, 3])
@pytest.mark.parametrize("name, image", _images(), ids=[n for n, _ in _images()])
def test_pillow_png_decodes_to_the_same_pixels_as_the_old_encoder(name, image, scale):
    new_mode, new_px = _decode(explorers.png_bytes(image, scale=scale))
    old_mode, old_px = _decode(_old_png_bytes(image, scale=scale))
    assert new_mode == old_mode and new_mode in ("L", "RGB")
    assert new_px.dtype == old_px.dtype == np.uint8
    np.testing.assert_array_equal(new_px, old_px)


def test_png_is_deterministic_and_has_no_metadata():
    x = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(2))
    data = explorers.png_bytes(x, scale=2)
    assert data == explorers.png_bytes(x.clone(), scale=2)
    tags = _chunk_tags(data)
    assert tags[0] == b"IHDR" and tags[-1] == b"IEND" and set(tags[1:-1]) == {b"IDAT"}
