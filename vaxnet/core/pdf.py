"""Fonts for every PDF vaxnet makes: Noto Sans, the pack scripts as fallbacks, HarfBuzz shaping.

Made for speed (a certificate in a few ms of CPU): fpdf2 parses a TrueType file on every
`add_font`, subsets it with fontTools when it writes the PDF (altering the parsed font in
place), and writes per font a glyph map for all 65,536 codes; together ~50 ms a font and
document. Here each font is parsed once per process and shared, read-only, by every document:
a document gets a light copy (its own record of the glyphs it used and a HarfBuzz font).

The codes in the text are the same in every document of a process (`_Codes`: one per glyph
and the text it stands for), so that the operators showing a line of text are made once per
process and reused. The embedded font is cut from the file's bytes, keeping its glyphs under
their ids, and with the glyphs of ids, numbers and dates always in it, most documents embed
the very same font program, cut and deflated once per process. `PDF.text_cell` writes a line of text
without fpdf2's general text path; fpdf2's own cell() and multi_cell() keep working, with the
fallback fonts (except justified text, whose word spacing assumes code 32 is the space).
"""

import copy
import struct
import threading
import zlib
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

import uharfbuzz as hb
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import PDFResourceType, TextEmphasis
from fpdf.fonts import Glyph, HarfBuzzFont, SubsetMap, TTFFont
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont
from fpdf.syntax import Name, PDFArray, PDFContentStream, PDFObject, PDFString

FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FAMILY = "latin"  # what to pass to set_font(); the scripts below fill in what it lacks
SCRIPT_FONTS = {
    "latin": "NotoSans",
    "devanagari": "NotoSansDevanagari",
    "tamil": "NotoSansTamil",
    "bengali": "NotoSansBengali",
    "arabic": "NotoSansArabic",
}
STYLES = {"": "Regular", "B": "Bold"}
# The characters whose glyphs a font always embeds: those of ids, numbers and dates, which
# vary from one document to the next. A document whose other text is one the process has
# embedded before (a certificate's labels, in every language) embeds the same font program.
ALWAYS_EMBEDDED = {"latin": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ #-/:.,()"}
# Font programs kept per font file: the common one, and a few for texts beyond it.
_PROGRAMS_KEPT = 64
# What a PDF reader needs of an embedded TrueType font (ISO 32000-1, 9.9), plus OS/2.
EMBEDDED_TABLES = (
    *(b"OS/2", b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"prep"),
)
# Streams (page text, fonts) are deflated at level 1, not zlib's default 6: 2.4 times
# faster on a certificate's fonts for about 8% more bytes, and PDFs are made on demand.
PDFContentStream._COMPRESSION_LEVEL = 1
# A row of modules (non-zero for dark) as the digits of a binary number.
_BITS = bytes.maketrans(bytes(range(256)), b"0" + b"1" * 255)
# Composite glyph flags (OpenType glyf table): they say how long each component record is.
ARGS_ARE_WORDS, HAS_SCALE, MORE_COMPONENTS, HAS_XY_SCALE, HAS_2X2 = 0x1, 0x8, 0x20, 0x40, 0x80


class HasMatrix(Protocol):
    """A QR code as rows of modules, non-zero for dark (a segno code or a core.qr.QrSymbol)."""

    @property
    def matrix(self) -> Sequence[bytes | bytearray]: ...


class _Source:
    """One font file, parsed once per process; shared read-only by every document."""

    def __init__(self, path: Path, always: str) -> None:
        scratch = FPDF()
        scratch.add_font("font", "", path)
        template = scratch.fonts["font"]
        if not isinstance(template, TTFFont):
            raise TypeError(f"{path} is not a TrueType font")
        self.template = template
        ttfont = template.ttfont
        # Decompile now what shaping reads later, so documents never change the shared font.
        ttfont.getGlyphOrder()
        ttfont.getReverseGlyphMap()
        ttfont["hmtx"]
        self.face = hb.Face(hb.Blob.from_file_path(path))
        data = path.read_bytes()
        self.tables = _tables(data)
        if b"glyf" not in self.tables:
            raise ValueError(f"{path} has no TrueType outlines to subset")
        self.glyph_count = struct.unpack_from(">H", self.tables[b"maxp"], 4)[0]
        self.metric_count = struct.unpack_from(">H", self.tables[b"hhea"], 34)[0]
        loca = self.tables[b"loca"]
        if struct.unpack_from(">h", self.tables[b"head"], 50)[0] == 0:
            self.loca = [
                2 * o
                for o in struct.unpack(
                    f">{self.glyph_count + 1}H", loca[: 2 * (self.glyph_count + 1)]
                )
            ]
        else:
            self.loca = list(
                struct.unpack(f">{self.glyph_count + 1}I", loca[: 4 * (self.glyph_count + 1)])
            )
        ids = template.glyph_ids
        self.common = frozenset(
            ids[c] for c in map(ord, always) if c in ids and ids[c] < self.glyph_count
        )
        self.programs: dict[frozenset[int], tuple[bytes, int]] = {}
        self.codes = _Codes()

    def program(self, gids: set[int]) -> tuple[bytes, int]:
        """Return a font program with these glyphs and the common ones, deflated, and its size."""
        key = self.common | gids
        found = self.programs.get(key)
        if found is None:
            data = self.subset(set(key))
            found = zlib.compress(data, PDFContentStream._COMPRESSION_LEVEL), len(data)
            if len(self.programs) >= _PROGRAMS_KEPT:
                self.programs.clear()  # names beyond the common glyphs vary without end
            self.programs[key] = found
        return found

    def glyph(self, gid: int) -> bytes:
        """Return one glyph's outline as the file stores it."""
        return self.tables[b"glyf"][self.loca[gid] : self.loca[gid + 1]]

    def subset(self, gids: set[int]) -> bytes:
        """Return a TrueType file with only these glyphs' outlines, under their original ids."""
        kept: set[int] = set()
        todo = [0, *gids]
        while todo:
            gid = todo.pop()
            if gid in kept or not 0 <= gid < self.glyph_count:
                continue
            kept.add(gid)
            outline = self.glyph(gid)
            if len(outline) > 10 and struct.unpack_from(">h", outline)[0] < 0:
                todo.extend(_components(outline))
        # Glyphs past the last one kept are left out altogether: a smaller loca and hmtx.
        count = max(kept) + 1
        metrics = min(self.metric_count, count)
        source_hmtx = self.tables[b"hmtx"]
        # Unused glyphs keep a zero metric: the PDF gives every width, and zeros pack small.
        hmtx = bytearray(4 * metrics + 2 * (count - metrics))
        glyf: list[bytes] = []
        offsets: list[int] = []
        at = 0
        for gid in sorted(kept):
            offsets.extend([at] * (gid + 1 - len(offsets)))
            outline = self.glyph(gid)
            outline += b"\0" * (-len(outline) % 4)
            glyf.append(outline)
            at += len(outline)
            # A glyph past the long metrics has a side bearing only; there metrics equals the
            # file's count, so the entry sits where it sits in the file.
            entry = (
                slice(4 * gid, 4 * gid + 4)
                if gid < metrics
                else slice(4 * metrics + 2 * (gid - metrics), 4 * metrics + 2 * (gid - metrics) + 2)
            )
            hmtx[entry] = source_hmtx[entry]
        offsets.append(at)
        head = bytearray(self.tables[b"head"])
        head[8:12] = b"\0\0\0\0"  # checkSumAdjustment, set once the file is whole
        head[50:52] = struct.pack(">h", 1)  # long loca offsets
        hhea = bytearray(self.tables[b"hhea"])
        hhea[34:36] = struct.pack(">H", metrics)
        maxp = bytearray(self.tables[b"maxp"])
        maxp[4:6] = struct.pack(">H", count)
        tables = {tag: self.tables[tag] for tag in EMBEDDED_TABLES if tag in self.tables}
        tables[b"glyf"] = b"".join(glyf)
        tables[b"loca"] = struct.pack(f">{len(offsets)}I", *offsets)
        tables[b"hmtx"] = bytes(hmtx)
        tables[b"head"] = bytes(head)
        tables[b"hhea"] = bytes(hhea)
        tables[b"maxp"] = bytes(maxp)
        font, places = _sfnt(tables)
        adjustment = (0xB1B0AFBA - _checksum(font)) & 0xFFFFFFFF
        head_at = places[b"head"] + 8
        return font[:head_at] + struct.pack(">I", adjustment) + font[head_at + 4 :]


def _tables(data: bytes) -> dict[bytes, bytes]:
    """Return a TrueType file's tables by tag."""
    count = struct.unpack_from(">H", data, 4)[0]
    tables = {}
    for i in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        tables[tag] = data[offset : offset + length]
    return tables


def _components(outline: bytes) -> list[int]:
    """Return the glyph ids a composite glyph is built from."""
    found, at = [], 10
    while True:
        flags, gid = struct.unpack_from(">HH", outline, at)
        found.append(gid)
        at += 4 + (4 if flags & ARGS_ARE_WORDS else 2)
        at += 2 if flags & HAS_SCALE else 4 if flags & HAS_XY_SCALE else 8 if flags & HAS_2X2 else 0
        if not flags & MORE_COMPONENTS:
            return found


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def _sfnt(tables: dict[bytes, bytes]) -> tuple[bytes, dict[bytes, int]]:
    """Return a TrueType file holding these tables, and where each table starts."""
    count = len(tables)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(
        ">IHHHH", 0x00010000, count, 16 * power, power.bit_length() - 1, 16 * (count - power)
    )
    records, bodies, places, at = [], [], {}, 12 + 16 * count
    for tag in sorted(tables):
        body = tables[tag]
        records.append(struct.pack(">4sIII", tag, _checksum(body), at, len(body)))
        body += b"\0" * (-len(body) % 4)
        bodies.append(body)
        places[tag] = at
        at += len(body)
    return header + b"".join(records) + b"".join(bodies), places


class _DocumentFont:
    """Stands in for the parsed font in one document, reading the shared one."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self._ttfont: TTFont = source.template.ttfont

    def __getitem__(self, tag: str) -> Any:
        return self._ttfont[tag]

    def __contains__(self, tag: str) -> bool:
        return tag in self._ttfont

    def getGlyphName(self, gid: int) -> str:  # fontTools' name: fpdf2 calls it
        return str(self._ttfont.getGlyphName(gid))

    def getGlyphID(self, name: str) -> int:
        return int(self._ttfont.getGlyphID(name))

    def close(self) -> None:
        """Leave the shared font open for the next document."""


CMAP_HEAD = (
    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
    "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
    "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
)
CMAP_TAIL = "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"


_Obj = TypeVar("_Obj", bound=PDFObject)


class _Codes:
    """The codes a font is written with in the process's documents: one per glyph and text.

    A glyph stands for different text in different places (a Devanagari vowel sign drawn
    before its consonant stands for the whole syllable), so a code is a glyph with its text,
    and the ToUnicode map of each document gives every code's text back. Codes are handed
    out as runs of text are first shown; once there are `SOFT_LIMIT`, the font starts a new
    set for new documents (the CIDToGIDMap written grows with the codes).
    """

    SOFT_LIMIT = 4096
    HARD_LIMIT = 0xD800  # a code is written as one UTF-16 unit: no surrogates

    def __init__(self) -> None:
        self.glyphs: list[Glyph | None] = [None]  # code 0 is .notdef
        self.of: dict[Glyph, int] = {}
        # A run's text-showing operators, its width in points and its codes, by size and text.
        self.shown: dict[tuple[float, str], tuple[str, float, tuple[int, ...]]] = {}
        self.maps: dict[int, bytes] = {}  # deflated CIDToGIDMaps by how many codes they map
        self.lock = threading.Lock()

    def code(self, glyph: Glyph) -> int | None:
        """Return the glyph's code, handing out the next one the first time."""
        code = self.of.get(glyph)
        if code is None:
            with self.lock:
                code = self.of.get(glyph)
                if code is None:
                    if len(self.glyphs) >= self.HARD_LIMIT:
                        return None
                    code = len(self.glyphs)
                    self.glyphs.append(glyph)
                    self.of[glyph] = code
        return code

    def glyph_map(self, count: int) -> bytes:
        """Return the deflated CIDToGIDMap of the first `count` codes."""
        found = self.maps.get(count)
        if found is None:
            gids = [g.glyph_id if g else 0 for g in self.glyphs[:count]]
            found = zlib.compress(struct.pack(f">{len(gids)}H", *gids), 1)
            if len(self.maps) >= 8:
                self.maps.clear()
            self.maps[count] = found
        return found


class _GlyphIds(SubsetMap):
    """The codes a document used of a shared font, from the process's `_Codes`."""

    def __init__(self, font: TTFFont, codes: _Codes) -> None:  # not SubsetMap's: it reserves
        self.font = font
        self.codes = codes
        self.used: set[int] = set()
        self._next = 0
        self._reserved: list[int] = []
        self._char_id_per_glyph: dict[Glyph | None, int] = {}

    def pick_glyph(self, glyph: Glyph | None) -> int | None:
        if glyph is None:
            return None
        code = self.codes.code(glyph)
        if code is not None:
            self.used.add(code)
        return code


class _Deflated(PDFContentStream):
    """A stream deflated already, once per process: a font program or a glyph map."""

    def __init__(self, deflated: bytes, length1: int | None = None) -> None:
        PDFObject.__init__(self)
        self._contents = deflated
        self.filter = Name("FlateDecode")
        self.length = len(deflated)
        if length1 is not None:
            self.length1 = length1


class _Output(OutputProducer):
    """fpdf2's writer, except that the shared fonts embed themselves."""

    def _add_fonts(self, *resources: Any) -> dict[int, Any]:
        fonts = self.fpdf.fonts
        shared = {
            key: font
            for key, font in fonts.items()
            if isinstance(font, TTFFont) and isinstance(font.ttfont, _DocumentFont)
        }
        # fpdf2 writes the other fonts (none, in vaxnet's documents) its own way.
        for key in shared:
            del fonts[key]
        try:
            objects: dict[int, Any] = super()._add_fonts(*resources)
        finally:
            fonts.update(shared)
        for font in shared.values():
            objects[font.i] = self._embed(font)
        return objects

    def _add(self, obj: _Obj) -> _Obj:
        self._add_pdf_obj(obj, "fonts")
        return obj

    def _embed(self, font: TTFFont) -> PDFFont:
        """Add a Type0 font with the process's codes, and the glyphs the document used."""
        document, subset = font.ttfont, font.subset
        if not isinstance(document, _DocumentFont) or not isinstance(subset, _GlyphIds):
            raise TypeError(f"{font.fontkey} is not a shared font")
        used = {code: glyph for code in subset.used if (glyph := subset.codes.glyphs[code])}
        # A subset tag, six capital letters, different for each font of the document.
        name = "".join(chr(65 + font.i // 26**k % 26) for k in range(5, -1, -1))
        name += f"+{font.name}"

        gids = {glyph.glyph_id for glyph in used.values()}
        program = self._add(_Deflated(*document.source.program(gids)))
        descriptor = copy.copy(font.desc)  # the shared font's; this document numbers its own
        descriptor.font_name = Name(name)
        descriptor.font_file2 = program  # type: ignore[attr-defined]
        self._add(descriptor)
        system = CIDSystemInfo()
        system.ordering = PDFString("Identity", encrypt=True)
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=name,
            d_w=font.desc.missing_width,
            w=_widths({code: glyph.glyph_width for code, glyph in used.items()}),
        )
        cid_font.c_i_d_system_info = self._add(system)
        cid_font.font_descriptor = descriptor
        count = max(used, default=0) + 1
        cid_font.c_i_d_to_g_i_d_map = self._add(_Deflated(subset.codes.glyph_map(count)))
        self._add(cid_font)

        # What each code stands for, so that the text can be searched and copied.
        pairs = [
            f"<{code:04X}> <{''.join(map(chr, glyph.unicode)).encode('utf-16-be').hex()}>\n"
            for code, glyph in sorted(used.items())
            if isinstance(glyph.unicode, tuple) and glyph.unicode
        ]
        blocks = "".join(
            f"{len(pairs[i : i + 100])} beginbfchar\n{''.join(pairs[i : i + 100])}endbfchar\n"
            for i in range(0, len(pairs), 100)
        )
        to_unicode = PDFContentStream(
            contents=(CMAP_HEAD + blocks + CMAP_TAIL).encode("latin-1"), compress=True
        )
        type0 = PDFFont(subtype="Type0", base_font=name, encoding="Identity-H")
        type0.descendant_fonts = PDFArray([cid_font])
        type0.to_unicode = self._add(to_unicode)
        self._add(type0)
        # The subset map's lookups are cached per process, keyed by the map: let the
        # document go, as fpdf2 does for the fonts it writes.
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        font.close()
        return type0


def _widths(widths: dict[int, int]) -> str:
    """Return a CIDFont's W array: each run of consecutive ids, then its widths."""
    runs: list[tuple[int, list[int]]] = []
    for gid in sorted(widths):
        if runs and gid == runs[-1][0] + len(runs[-1][1]):
            runs[-1][1].append(widths[gid])
        else:
            runs.append((gid, [widths[gid]]))
    return "[" + " ".join(f"{first} [{' '.join(map(str, row))}]" for first, row in runs) + "]"


@cache
def _source(family: str, style: str) -> _Source:
    path = FONT_DIR / f"{SCRIPT_FONTS[family]}-{STYLES[style]}.ttf"
    return _Source(path, ALWAYS_EMBEDDED.get(family, ""))


def fonts_preload() -> None:
    """Parse every font now, as a web process starts, rather than on its first PDF."""
    for family in SCRIPT_FONTS:
        for style in STYLES:
            _source(family, style)


def _attach(pdf: FPDF, family: str, style: str) -> None:
    """Give the document its own light copy of a shared font."""
    source = _source(family, style)
    template = source.template
    font = TTFFont.__new__(TTFFont)
    for name in TTFFont.__slots__:
        if hasattr(template, name):
            setattr(font, name, getattr(template, name))
    font.i = len(pdf.fonts) + 1
    font.fontkey = f"{family}{style}"
    font.emphasis = TextEmphasis.coerce(style)
    font.ttfont = _DocumentFont(source)
    font._hbfont = HarfBuzzFont(source.face)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    codes = source.codes
    if len(codes.glyphs) >= _Codes.SOFT_LIMIT:
        source.codes = codes = _Codes()  # documents under way keep the set they began with
    font.subset = _GlyphIds(font, codes)
    pdf.fonts[font.fontkey] = font


def _cmap(family: str) -> dict[int, str]:
    return _source(family, "").template.cmap


def _scripts(texts: Iterable[str] | None) -> list[str]:
    """Return the fallback fonts these texts need, or all of them when the texts are unknown."""
    fallbacks = [family for family in SCRIPT_FONTS if family != FAMILY]
    if texts is None:
        return fallbacks
    missing = {ord(c) for c in "".join(texts)} - _cmap(FAMILY).keys()
    needed: list[str] = []
    if not missing:
        return needed
    for family in fallbacks:
        cmap = _cmap(family)
        if missing & cmap.keys():
            needed.append(family)
            missing -= cmap.keys()
        if not missing:
            break
    return needed


def needs_shaping(text: str) -> bool:
    """Say whether text has anything beyond plain Latin, which HarfBuzz must shape."""
    return max(text, default=" ") >= "\u0300"


# How each text splits into the fonts' runs, for the same fonts: labels repeat.
_RUNS: dict[tuple[tuple[str, ...], str], list[tuple[str, str]]] = {}
_RUNS_KEPT = 4096
# A run's glyphs shown to a font's code set, kept until it has this many.
_SHOWN_KEPT = 4096


def _show(
    font: TTFFont, codes: _Codes, size: float, text: str
) -> tuple[str, float, tuple[int, ...]]:
    """Return a run's text-showing operators, its width in points and the codes it shows."""
    if not needs_shaping(text):
        plain = tuple(
            code
            for c in map(ord, text)
            if font.glyph_ids.get(c)
            and (code := codes.code(Glyph(font.glyph_ids[c], (c,), font.cmap[c], int(font.cw[c]))))
        )
        shown = f"({font.escape_text(''.join(map(chr, plain)))}) Tj"
        return shown, font.get_text_width(text, size, None)[1], plain
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(font.hbfont, buffer, {})
    infos, positions = buffer.glyph_infos, buffer.glyph_positions
    # Each cluster's text goes with its first glyph, so that extraction gives it back.
    starts = sorted({info.cluster for info in infos})
    ends = dict(zip(starts, [*starts[1:], len(text)], strict=True))
    metrics = font.ttfont["hmtx"].metrics
    shown_parts: list[str] = []
    pending: list[str] = []
    items: list[str] = []
    shown_codes: list[int] = []
    rise = advance = 0.0
    for info, position in zip(infos, positions, strict=True):
        gid, cluster = info.codepoint, info.cluster
        chars = tuple(map(ord, text[cluster : ends.pop(cluster)])) if cluster in ends else ()
        if not gid:
            continue  # .notdef: nothing to show
        name = font.ttfont.getGlyphName(gid)
        width = round(font.scale * metrics[name][0])
        code = codes.code(Glyph(gid, chars, name, width))
        if code is None:
            continue
        shown_codes.append(code)
        x_advance = font.scale * position.x_advance
        x_offset = font.scale * position.x_offset
        y_offset = font.scale * position.y_offset * size / 1000
        if y_offset != rise:  # a mark raised or lowered: a new array at its own rise
            if pending:
                items.append(f"({font.escape_text(''.join(pending))})")
                pending = []
            if items:
                shown_parts.append(f"[{' '.join(items)}] TJ")
                items = []
            shown_parts.append(f"{y_offset:.2f} Ts")
            rise = y_offset
        if abs(x_offset) > 0.01:
            if pending:
                items.append(f"({font.escape_text(''.join(pending))})")
                pending = []
            items.append(f"{-x_offset:.2f}")
        pending.append(chr(code))
        # TJ moves left by its numbers (thousandths of the size) after each glyph's width.
        adjust = width - x_advance + x_offset
        if abs(adjust) > 0.01:
            items.append(f"({font.escape_text(''.join(pending))})")
            items.append(f"{adjust:.2f}")
            pending = []
        advance += x_advance
    if pending:
        items.append(f"({font.escape_text(''.join(pending))})")
    if items:
        shown_parts.append(f"[{' '.join(items)}] TJ")
    if rise:
        shown_parts.append("0 Ts")
    return " ".join(shown_parts), advance * size / 1000, tuple(shown_codes)


class PDF(FPDF):
    """An FPDF whose fonts are shared per process, with a fast path for one line of text.

    `text_cell` splits a line into runs of one script, shapes with HarfBuzz only the runs
    whose script needs it, and writes each run's glyphs itself: fpdf2's general text path
    (bidi, a fallback-font search per character, fragments, graphics-state copies) costs
    several times as much as the shaping. Right-to-left runs are shaped, and laid out in
    reading order among the line's other runs.
    """

    families: list[str]
    _shown: set[tuple[str, tuple[float, str]]]  # the runs whose codes this document recorded

    def output(  # type: ignore[override]
        self, name: str = "", *, linearize: bool = False
    ) -> bytearray | None:
        """Write the document, embedding the shared fonts the fast way."""
        return super().output(name, linearize=linearize, output_producer_class=_Output)

    def runs(self, text: str) -> list[tuple[str, str]]:
        """Split text into (family, text) runs, each drawn by one font."""
        key = (tuple(self.families), text)
        found = _RUNS.get(key)
        if found is None:
            if len(_RUNS) >= _RUNS_KEPT:
                _RUNS.clear()
            _RUNS[key] = found = self._runs(text)
        return found

    def _runs(self, text: str) -> list[tuple[str, str]]:
        cmaps = [(family, _cmap(family)) for family in self.families]
        runs: list[tuple[str, list[str]]] = []
        current: dict[int, str] = {}
        for char in text:
            code = ord(char)
            if runs and code in current:
                runs[-1][1].append(char)
                continue
            family, current = next(((f, c) for f, c in cmaps if code in c), cmaps[0])
            runs.append((family, [char]))
        return [(family, "".join(chars)) for family, chars in runs]

    def _glyphs(self, font: TTFFont, size: float, text: str) -> tuple[str, float]:
        """Return the text-showing operators for one run and its width in millimetres."""
        subset = font.subset
        if not isinstance(subset, _GlyphIds):
            raise TypeError(f"{font.fontkey} is not one of the shared fonts")
        shown_before = subset.codes.shown
        key = (size, text)
        found = shown_before.get(key)
        if found is None:
            if len(shown_before) >= _SHOWN_KEPT:
                shown_before.clear()  # names and places vary without end: start again
            shown_before[key] = found = _show(font, subset.codes, size, text)
        shown, width, codes = found
        if (font.fontkey, key) not in self._shown:
            self._shown.add((font.fontkey, key))
            subset.used.update(codes)
        return shown, width / self.k

    def _pieces(self, text: str) -> list[tuple[TTFFont, str, float]]:
        """Return each run's font, operators and width, in the current style and size."""
        pieces = []
        for family, run in self.runs(text):
            font = self.fonts[f"{family}{self.font_style}"]
            if not isinstance(font, TTFFont):
                raise TypeError(f"{family} is not one of the shared fonts")
            pieces.append((font, *self._glyphs(font, self.font_size_pt, run)))
        return pieces

    def text_width(self, text: str) -> float:
        """Return the width of text in the current style and size, in millimetres."""
        return sum(width for _, _, width in self._pieces(text))

    def text_cell(
        self, w: float, h: float, text: str, *, align: str = "L", next_line: bool = False
    ) -> None:
        """Write one line of text in a box of w × h; then move right of it, or below it."""
        x, y = self.get_x(), self.get_y()
        pieces = self._pieces(text)
        if pieces:
            spare = w - sum(width for _, _, width in pieces)
            offset = {"C": spare / 2, "R": spare - self.c_margin}.get(align, self.c_margin)
            size = self.font_size_pt
            # The baseline where fpdf2's cell() puts it, so both kinds of text line up.
            baseline = (self.h - y - 0.5 * h - 0.3 * size / self.k) * self.k
            color = self.text_color.serialize().lower() if self.text_color else "0 g"
            ops = [f"q {color} BT {(x + offset) * self.k:.2f}"]
            ops.append(f"{baseline:.2f} Td")
            for font, shown, _ in pieces:
                self._resource_catalog.add(PDFResourceType.FONT, font.i, self.page)
                ops.append(f"/F{font.i} {size:.2f} Tf {shown}")
            ops.append("ET Q")
            self._out(" ".join(ops))
            # The font set inside q … Q is gone after it: fpdf2 must set its own again.
            self.current_font_is_set_on_page = False
        if next_line:
            self.set_xy(self.l_margin, y + h)
        else:
            self.set_xy(x + w, y)

    def wrap(self, text: str, width: float) -> list[str]:
        """Split text at spaces into lines no wider than width (a long word keeps a line)."""
        if self.text_width(text) <= width:
            return [text]
        lines: list[str] = []
        for word in text.split():
            candidate = f"{lines[-1]} {word}" if lines else word
            if lines and self.text_width(candidate) <= width:
                lines[-1] = candidate
            else:
                lines.append(word)
        return lines or [""]


def new_pdf(*, size: tuple[float, float], texts: Iterable[str] | None = None) -> PDF:
    """Return a page-less PDF in millimetres with the fonts set up and shaping on.

    Given the document's texts, only the script fonts they need are added.
    """
    pdf = PDF(format=size)
    pdf._shown = set()
    pdf.set_auto_page_break(auto=False)
    pdf.families = [FAMILY, *_scripts(texts)]
    for family in pdf.families:
        for style in STYLES:
            _attach(pdf, family, style)
    if len(pdf.families) > 1:
        # For fpdf2's own text calls (cell, multi_cell), which search fonts per character.
        pdf.set_fallback_fonts(pdf.families[1:], exact_match=False)
    pdf.set_text_shaping(True)
    return pdf


def draw_qr(pdf: FPDF, code: HasMatrix, x: float, y: float, size: float) -> None:
    """Draw a QR code's dark modules at (x, y), size wide, in the fill colour."""
    matrix = code.matrix
    n = len(matrix)
    pad = b"0" * (-n % 8)
    # One bit a module, rows padded to whole bytes: an inline image mask (ISO 32000-1,
    # 8.9.6.2 and 8.9.7) paints the 1 bits (Decode [1 0]) in the fill colour. Readers draw
    # masks without smoothing, so the modules stay sharp at any size, and it costs a
    # fraction of one rectangle per run of modules.
    bits = b"".join(
        int((bytes(row).translate(_BITS) + pad), 2).to_bytes((n + 7) // 8, "big") for row in matrix
    )
    side = size * pdf.k
    pdf._out(
        f"q {side:.2f} 0 0 {side:.2f} {x * pdf.k:.2f} {(pdf.h - y - size) * pdf.k:.2f} cm\n"
        f"BI /W {n} /H {n} /IM true /BPC 1 /D [1 0] /F /AHx ID\n{bits.hex()}>\nEI Q"
    )
