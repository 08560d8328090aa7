"""SMS encoding: whether a text fits the GSM 7-bit alphabet, and how many parts it takes."""

import math

# GSM 03.38: the basic alphabet, and the extension table whose characters take two septets.
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENDED = frozenset("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    """Return whether the text can go in the GSM 7-bit alphabet (else it goes as UCS-2)."""
    return all(char in _BASIC or char in _EXTENDED for char in text)


def sms_units(text: str) -> int:
    """Return the text's length in its encoding: septets for GSM, UTF-16 code units for UCS-2."""
    if is_gsm7(text):
        return sum(2 if char in _EXTENDED else 1 for char in text)
    return len(text.encode("utf-16-le")) // 2


def sms_parts(text: str) -> int:
    """Return how many SMS the text takes (a long text is split, each part losing a header)."""
    single, part = (160, 153) if is_gsm7(text) else (70, 67)
    units = sms_units(text)
    return 1 if units <= single else math.ceil(units / part)
