"""Printable venue posters: one A4 page with the venue's QR code, name, code and district.

The QR code (segno) holds the scan page's address, `<public url>/s/<code>`, so a phone's
camera opens it directly; the PDF (fpdf2) embeds the Noto Sans CJK font the system packages
install, so the poster prints the same anywhere, offline.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"),
             Path("/usr/local/share/fonts"))
SC_IN_COLLECTION = 2  # NotoSansCJK-*.ttc: JP, KR, SC, TC, HK


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


def poster_pdf(venue: PosterVenue, public_url: str) -> bytes:
    """One A4 page: title, QR code of the scan page, venue name, code, district, how to scan."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(f"{venue.name} {venue.code}")
    pdf.set_creator("placecode")
    pdf.set_auto_page_break(False)
    pdf.add_font("noto", "", str(_font("Regular")), collection_font_number=SC_IN_COLLECTION)
    pdf.add_font("noto", "B", str(_font("Bold")), collection_font_number=SC_IN_COLLECTION)
    pdf.add_page()
    pdf.set_fill_color(0, 122, 61)  # the green of a pass
    pdf.rect(0, 0, 210, 38, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(0, 8)
    pdf.set_font("noto", "B", 34)
    pdf.cell(210, 14, "场所码", align="C")
    pdf.set_xy(0, 24)
    pdf.set_font("noto", "", 13)
    pdf.cell(210, 8, "进入请扫码 · Scan on entry", align="C")
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
    pdf.set_xy(15, 262)
    pdf.set_font("noto", "", 11)
    pdf.set_text_color(80, 80, 80)
    pdf.multi_cell(180, 6, "请使用手机相机扫描二维码，首次登记后无需再次填写；绿码通行，黄码核验，"
                   "红码禁止进入公共场所。\nScan with your phone camera: register once, then "
                   "each scan shows green (enter), yellow (check) or red (no entry).",
                   align="C")
    pdf.set_xy(15, 284)
    pdf.set_font("noto", "", 9)
    pdf.cell(180, 5, scan_url(public_url, venue.code), align="C")
    return bytes(pdf.output())


def write_posters(venues: list[PosterVenue], public_url: str, out: Path) -> list[Path]:
    """`<out>/<code>.pdf` for each venue; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for venue in venues:
        path = out / f"{venue.code}.pdf"
        path.write_bytes(poster_pdf(venue, public_url))
        written.append(path)
    return written
