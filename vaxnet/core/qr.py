"""QR codes made in C++ (zxing-cpp): the symbol's modules, to draw as vectors or save as PNG.

A certificate's QR codes are large (version 15 to 27): segno, in pure Python, spends
30–130 ms choosing a mask for one, zxing-cpp about 1–6 ms, and 0.3 ms given the mask. Its
encoder picks the segments itself (numeric for a health card's digits, byte for its `shc:/`
prefix, alphanumeric for `HC1:` text), so each format's code is as small as the format's
rules want.
"""

import io
from dataclasses import dataclass
from typing import Any, cast

import zxingcpp
from PIL import Image, ImageOps

# zxing-cpp draws dark modules as 0 and light as 255; a row of the matrix has 1 for dark.
_DARK = bytes.maketrans(bytes(range(256)), bytes([1] * 128 + [0] * 128))


@dataclass(frozen=True)
class QrSymbol:
    """A QR code: its rows of modules (1 dark, 0 light), without the quiet zone."""

    matrix: tuple[bytes, ...]
    error: str  # L, M, Q or H

    @property
    def version(self) -> int:
        """Return the QR version (1–40), from the symbol's size."""
        return (len(self.matrix) - 17) // 4

    def png(self, *, scale: int = 4, border: int = 4) -> bytes:
        """Return the code as a PNG, black on white, with a quiet zone of `border` modules."""
        size = len(self.matrix)
        light = bytes(255 * (1 - m) for row in self.matrix for m in row)
        image = Image.frombytes("L", (size, size), light)
        image = image.resize((size * scale, size * scale), Image.Resampling.NEAREST)
        image = ImageOps.expand(image, border=border * scale, fill=255)
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


def qr_make(content: str | bytes, *, error: str, mask: int | None = None) -> QrSymbol:
    """Return the smallest QR code of the content at an error correction level (L, M, Q, H).

    The encoder scores all eight data masks and keeps the one with the fewest patterns that
    trouble readers, unless `mask` (0–7) fixes one. For compressed content, which looks random
    under every mask so that the scores hardly differ, scoring is nine tenths of the time a
    large code takes (2.4 of 2.7 ms for version 23).
    """
    options: dict[str, Any] = {"ec_level": error}
    if mask is not None:
        if not 0 <= mask <= 7:
            raise ValueError(f"a QR data mask is 0 to 7, not {mask}")
        options["data_mask"] = mask
    barcode = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode, **options)
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    size = image.shape[0]
    # The image exports its pixels through the buffer protocol (its stub does not say so).
    cells = bytes(memoryview(cast(Any, image))).translate(_DARK)
    return QrSymbol(
        matrix=tuple(cells[row * size : (row + 1) * size] for row in range(size)),
        error=error,
    )
