"""Names in the Latin letters travel documents use (ICAO Doc 9303, part 3).

EU DCC needs a name of A–Z and "<" only. Latin letters with marks follow the ICAO table (Ä
becomes AE, Ø becomes OE, other marks are dropped); names in other scripts (Devanagari,
Tamil, Arabic…) are first transliterated to Latin letters.
"""

import re
import unicodedata

from anyascii import anyascii

# The letters ICAO 9303 writes as two; every other accented Latin letter loses its mark.
_ICAO_PAIRS = {
    "Ä": "AE",
    "Å": "AA",
    "Æ": "AE",
    "Ö": "OE",
    "Ø": "OE",
    "Ü": "UE",
    "ß": "SS",
    "Þ": "TH",
    "Ĳ": "IJ",
    "Œ": "OE",
    "Ð": "D",
    "Đ": "D",
    "Ł": "L",
    "Ħ": "H",
}
_LIMIT = 80  # the EU DCC schema's maximum length of a transliterated name


# Brahmic scripts write a consonant with an inherent "a" unless a vowel sign or a virama
# follows; a letter-by-letter transliteration drops it ("शर्मा" would become SRMA).
_BRAHMIC = (
    "DEVANAGARI",
    "BENGALI",
    "GURMUKHI",
    "GUJARATI",
    "ORIYA",
    "TAMIL",
    "TELUGU",
    "KANNADA",
    "MALAYALAM",
)
# Hindi and Marathi do not sound the inherent vowel at the end of a word (राम is Ram).
_FINAL_SCHWA_SILENT = ("DEVANAGARI",)


_VOWEL_LETTERS = {
    "A",
    "AA",
    "I",
    "II",
    "U",
    "UU",
    "E",
    "EE",
    "AI",
    "O",
    "OO",
    "AU",
    "VOCALIC R",
    "VOCALIC RR",
    "VOCALIC L",
    "VOCALIC LL",
    "SHORT E",
    "SHORT O",
    "CANDRA E",
    "CANDRA O",
    "SHORT A",
    "OE",
    "OOE",
    "AW",
    "UE",
    "UUE",
}


def _role(char: str) -> tuple[str, str]:
    """Return (script, role) of a character: consonant, nukta, killer (a vowel sign or
    virama, which replaces the inherent vowel) or other."""
    name = unicodedata.name(char, "")
    script = name.split(" ", 1)[0]
    if script not in _BRAHMIC:
        return "", "other"
    if " LETTER " in name:
        letter = name.split(" LETTER ", 1)[1]
        return script, "other" if letter in _VOWEL_LETTERS else "consonant"
    if "SIGN NUKTA" in name:
        return script, "nukta"
    if "VOWEL SIGN" in name or "SIGN VIRAMA" in name:
        return script, "killer"
    return script, "other"


def _with_inherent_vowels(name: str) -> str:
    out = []
    for i, char in enumerate(name):
        out.append(char)
        script, role = _role(char)
        if role not in ("consonant", "nukta"):
            continue
        following = name[i + 1] if i + 1 < len(name) else ""
        next_script, next_role = _role(following) if following else ("", "other")
        if next_role in ("killer", "nukta"):
            continue
        if role == "nukta" and _role(name[i - 1])[1] != "consonant":
            continue
        if not next_script and script in _FINAL_SCHWA_SILENT:
            continue  # the end of a word
        out.append("a")
    return "".join(out)


def icao_name(name: str) -> str:
    """Return a name as ICAO 9303 machine-readable text: A–Z, with "<" between the parts."""
    upper = _with_inherent_vowels(name).upper()
    letters = []
    for char in upper:
        if char in _ICAO_PAIRS:
            letters.append(_ICAO_PAIRS[char])
            continue
        base = unicodedata.normalize("NFD", char)[0]
        if "A" <= base <= "Z":
            letters.append(base)
        elif char in "'’`":
            continue  # ICAO drops apostrophes: O'BRIEN is OBRIEN
        elif char.isspace() or char in "-,.":
            letters.append(" ")
        else:
            # Within a word: a transliteration's apostrophes and marks must not split it.
            letters.append("".join(c for c in anyascii(char).upper() if "A" <= c <= "Z"))
    text = "".join(letters)
    parts = re.findall(r"[A-Z]+", text)
    return "<".join(parts)[:_LIMIT]
