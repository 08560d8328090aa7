"""QR codes: the encoder's own mask choice, or a fixed one, read back by zxing-cpp."""

import io
import os

import pytest
import zxingcpp
from PIL import Image

from vaxnet.core.qr import qr_make


def _read(content: bytes, mask: int | None = None) -> dict[str, object]:
    """Make the code, draw it as a PNG and read it back: what the reader says of it."""
    symbol = qr_make(content, error="M", mask=mask)
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(symbol.png())))
    assert len(found) == 1
    assert found[0].bytes == content
    extra = found[0].extra
    assert isinstance(extra, dict)
    return extra


@pytest.mark.parametrize("mask", range(8))
def test_a_fixed_mask_is_used_and_reads_back(mask: int) -> None:
    extra = _read(os.urandom(600), mask=mask)
    assert extra["DataMask"] == mask
    assert extra["ECLevel"] == "M"


def test_without_a_mask_the_encoder_chooses_one() -> None:
    extra = _read(os.urandom(600))
    assert extra["ECLevel"] == "M"
    assert extra["DataMask"] in range(8)


@pytest.mark.parametrize("mask", [-1, 8])
def test_it_refuses_a_mask_that_does_not_exist(mask: int) -> None:
    with pytest.raises(ValueError, match="0 to 7"):
        qr_make(b"x", error="M", mask=mask)
