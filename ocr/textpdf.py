"""The searchable-PDF page of one recognised page image, placed from the page's hOCR.

Both engines that write their own PDF page use it: the in-process Tesseract engine
(ocr/tesserocr_engine.py) and the scripted engine for tests (ocr/fake.py). The layout is that of
Tesseract's PDF renderer (src/api/pdfrenderer.cpp): the page image scaled to the page, and over
it every hOCR word in text render mode 3 (invisible) in GlyphLessFont, a font whose one glyph is
half an em wide, stretched (Tz) to the word's width on its line's baseline. The font maps
character codes to Unicode one to one (Identity-H, UTF-16 codes, a ToUnicode CMap), so text
extraction and search give the recognised text.

The font program is Tesseract's ``pdf.ttf`` (tessdata) when given; without it the font is named
but not embedded, which is enough for invisible text: readers take the characters from the
ToUnicode map and draw nothing.
"""

from __future__ import annotations

import io
import math
import zlib
from decimal import Decimal

import numpy as np
import pikepdf

from ocr.hocr import HocrLine, parse_hocr

__all__ = ["IMAGE_COMPRESSION", "page_pdf"]

#: zlib level of the page image: about the size of the CLI's page (leptonica's Flate) in 0.03-0.07 s
#: on a 300 dpi A4 page; level 1 was 10-80 % larger, PNG predictors gave no consistent gain.
IMAGE_COMPRESSION = 6
#: The font's name in the page's resources (as Tesseract's renderer names it).
_FONT = "/f-0-0"

_TO_UNICODE = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo
<<
  /Registry (Adobe)
  /Ordering (UCS)
  /Supplement 0
>> def
/CMapName /Adobe-Identify-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""
#: every character code to glyph 1, the font's one glyph
_CID_TO_GID = zlib.compress(b"\x00\x01" * 65536, 9)


def page_pdf(gray: np.ndarray, dpi: int, hocr: str, font: bytes | None, *, producer: str) -> bytes:
    """A one-page PDF: ``gray`` at ``dpi`` with the hOCR's words as an invisible text layer.

    ``font`` is the GlyphLessFont program to embed (Tesseract's ``pdf.ttf``), or None to name the
    font without embedding it; ``producer`` goes into the document information.
    """
    h, w = gray.shape
    scale = 72.0 / max(dpi, 1)
    width, height = w * scale, h * scale
    pdf = pikepdf.new()
    image = pikepdf.Stream(
        pdf, zlib.compress(gray.tobytes(), IMAGE_COMPRESSION), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=w, Height=h,
        ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8, Filter=pikepdf.Name.FlateDecode,
    )  # fmt: skip
    content = [f"q {_num(width)} 0 0 {_num(height)} 0 0 cm /Im1 Do Q".encode()]
    words = _text_ops(hocr, h, scale)
    if words:
        content += [b"BT", b"3 Tr", *words, b"ET"]
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, _dec(width), _dec(height)],
        Resources=pikepdf.Dictionary(
            XObject=pikepdf.Dictionary(Im1=image), Font=pikepdf.Dictionary({_FONT: _glyphless_font(pdf, font)})
        ),
        Contents=pikepdf.Stream(pdf, b"\n".join(content)),
    )
    pdf.pages.append(pikepdf.Page(pdf.make_indirect(page)))
    pdf.docinfo[pikepdf.Name.Producer] = producer
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _text_ops(hocr: str, page_h: int, scale: float) -> list[bytes]:
    """Content-stream operators placing each hOCR word at its box on its line's baseline."""
    ops: list[bytes] = []
    size = 0.0
    for word in parse_hocr(hocr):
        if word.bbox is None:
            continue
        left, top, right, bottom = word.bbox
        # a word outside any line: its own box is the line
        line = word.line or HocrLine(word.bbox, 0.0, 0.0, float(bottom - top))
        l_left, _, _, l_bottom = line.bbox
        units = len(word.text.encode("utf-16-be")) // 2
        font_size = max(line.x_size * scale, 1.0)
        base_y = l_bottom + line.offset + line.slope * (left - l_left)  # image pixels, y down
        angle = math.atan2(-line.slope, 1.0)
        length = (right - left) * math.hypot(1.0, line.slope) * scale
        stretch = 100.0 * length / (font_size * 0.5 * units)
        if font_size != size:
            ops.append(f"{_FONT} {_num(font_size)} Tf".encode())
            size = font_size
        c, s = math.cos(angle), math.sin(angle)
        ops.append(
            f"{_num(c)} {_num(s)} {_num(-s)} {_num(c)} {_num(left * scale)} {_num((page_h - base_y) * scale)} Tm "
            f"{_num(stretch)} Tz <{(word.text + ' ').encode('utf-16-be').hex().upper()}> Tj".encode()
        )
    return ops


def _glyphless_font(pdf: pikepdf.Pdf, font: bytes | None) -> pikepdf.Object:
    """GlyphLessFont as a Type0 font over a CIDFontType2; ``font`` is embedded when given."""
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name.GlyphLessFont, Flags=5,
        FontBBox=[0, 0, 500, 1000], ItalicAngle=0, Ascent=1000, Descent=-1, CapHeight=1000, StemV=80,
    )  # fmt: skip
    if font is not None:
        descriptor.FontFile2 = pikepdf.Stream(pdf, font, Length1=len(font))
    cid_to_gid = pikepdf.Stream(pdf, _CID_TO_GID, Filter=pikepdf.Name.FlateDecode)
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name.GlyphLessFont,
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor), CIDToGIDMap=cid_to_gid, DW=500,
    )  # fmt: skip
    return pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name.GlyphLessFont,
            Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[pdf.make_indirect(cid_font)],
            ToUnicode=pikepdf.Stream(pdf, _TO_UNICODE),
        )  # fmt: skip
    )


def _num(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") or "0"


def _dec(x: float) -> Decimal:
    return Decimal(_num(x))
