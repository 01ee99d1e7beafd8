"""Printable venue posters: one A4 page with the venue's QR code, name, code and district.

The QR code (segno) holds the scan page's address, `<public url>/s/<code>`, so a phone's
camera opens it directly; the PDF (fpdf2) embeds the Noto Sans CJK font the system packages
install, so the poster prints the same anywhere, offline.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import segno
from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fpdf import FPDF

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"),
             Path("/usr/local/share/fonts"))
SC_IN_COLLECTION = 2  # NotoSansCJK-*.ttc: JP, KR, SC, TC, HK
TITLE = "场所码"
SUBTITLE = "进入请扫码 · Scan on entry"
HOW_TO = ("手机相机扫码，首次登记后无需再填；绿码通行，黄码核验，红码禁止进入公共场所",
          "Scan with your phone camera; register once. Green: enter. Yellow: wait for a check. "
          "Red: no entry.")


class PosterError(RuntimeError):
    """A poster cannot be made (the font is missing); the message says what to install."""


@dataclass(frozen=True)
class PosterVenue:
    code: str
    name: str
    kind_zh: str
    district_zh: str
    subdistrict_zh: str


def scan_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/s/{code}"


def _font(weight: str) -> Path:
    for folder in FONT_DIRS:
        path = folder / f"NotoSansCJK-{weight}.ttc"
        if path.exists():
            return path
    raise PosterError("the posters need the Noto Sans CJK font: apt-get install fonts-noto-cjk "
                      "(make run installs it)")


def _lines(venue: PosterVenue, public_url: str) -> list[str]:
    return [TITLE, SUBTITLE, venue.name, f"场所码 {venue.code}",
            f"{venue.district_zh} {venue.subdistrict_zh} · {venue.kind_zh}", *HOW_TO,
            scan_url(public_url, venue.code)]


def _as_truetype(font: TTFont) -> None:
    """CFF outlines → TrueType (quadratic) ones, in place: fpdf2 subsets a font again for every
    PDF, which costs ~140 ms per CFF weight and poster, ~5 ms for TrueType."""
    glyphs, glyf = font.getGlyphSet(), newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = font.getGlyphOrder(), {}
    for name in glyf.glyphOrder:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements",
                  "maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours",
                  "maxComponentDepth"):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    font.sfntVersion = "\0\1\0\0"


class Fonts:
    """The two weights cut down to the characters a batch of posters prints, as TrueType:
    parsing the whole CJK collection costs ~0.4 s per weight, a subset a few milliseconds."""

    def __init__(self, text: str):
        self._dir = tempfile.TemporaryDirectory(prefix="placecode-fonts-")
        self.paths = {}
        for style, weight in (("", "Regular"), ("B", "Bold")):
            font = TTFont(str(_font(weight)), fontNumber=SC_IN_COLLECTION, lazy=True)
            cutter = subset.Subsetter(subset.Options())
            cutter.populate(text=text + "0123456789")
            cutter.subset(font)
            _as_truetype(font)
            path = Path(self._dir.name) / f"noto-{weight}.ttf"
            font.save(str(path))
            self.paths[style] = path

    def close(self) -> None:
        self._dir.cleanup()


def poster_pdf(venue: PosterVenue, public_url: str, fonts: Fonts | None = None) -> bytes:
    """One A4 page: title, QR code of the scan page, venue name, code, district, how to scan."""
    own = fonts is None
    fonts = fonts or Fonts("".join(_lines(venue, public_url)))
    try:
        return _page(venue, public_url, fonts)
    finally:
        if own:
            fonts.close()


def _page(venue: PosterVenue, public_url: str, fonts: Fonts) -> bytes:
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(f"{venue.name} {venue.code}")
    pdf.set_creator("placecode")
    pdf.set_auto_page_break(False)
    for style, path in fonts.paths.items():
        pdf.add_font("noto", style, str(path))
    pdf.add_page()
    pdf.set_fill_color(0, 122, 61)  # the green of a pass
    pdf.rect(0, 0, 210, 38, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(0, 8)
    pdf.set_font("noto", "B", 34)
    pdf.cell(210, 14, TITLE, align="C")
    pdf.set_xy(0, 24)
    pdf.set_font("noto", "", 13)
    pdf.cell(210, 8, SUBTITLE, align="C")
    pdf.set_text_color(0, 0, 0)
    qr = segno.make(scan_url(public_url, venue.code), error="m")
    image = io.BytesIO()
    qr.save(image, kind="png", scale=12, border=4)
    image.seek(0)
    pdf.image(image, x=40, y=50, w=130, h=130)
    pdf.set_xy(15, 186)
    pdf.set_font("noto", "B", 26)
    pdf.multi_cell(180, 12, venue.name, align="C")
    pdf.set_x(15)
    pdf.set_font("noto", "", 18)
    pdf.cell(180, 11, f"场所码 {venue.code}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(15)
    pdf.set_font("noto", "", 14)
    pdf.cell(180, 9, f"{venue.district_zh} {venue.subdistrict_zh} · {venue.kind_zh}",
             align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(70, 70, 70)
    pdf.set_xy(10, 258)
    pdf.set_font("noto", "", 12.5)
    pdf.cell(190, 7, HOW_TO[0], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(10)
    pdf.set_font("noto", "", 10.5)
    pdf.cell(190, 6, HOW_TO[1], align="C")
    pdf.set_xy(15, 283)
    pdf.set_font("noto", "", 9)
    pdf.cell(180, 5, scan_url(public_url, venue.code), align="C")
    return bytes(pdf.output())


def write_posters(venues: list[PosterVenue], public_url: str, out: Path) -> list[Path]:
    """`<out>/<code>.pdf` for each venue; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    fonts = Fonts("".join(sorted({ch for v in venues for ch in "".join(_lines(v, public_url))})))
    written = []
    try:
        for venue in venues:
            path = out / f"{venue.code}.pdf"
            path.write_bytes(poster_pdf(venue, public_url, fonts))
            written.append(path)
    finally:
        fonts.close()
    return written
