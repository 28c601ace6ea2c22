"""Scripted pages that show their text: each word drawn where the scripted engine (ocr/fake.py)
will say it is, and the page's QR key printed below the text.

``tests/scripted.py`` pages carry dark bars instead of text; that is enough for the pipeline but
not for a person looking at a page image (the screenshots of the README) or for checking that a
word marked on the image sits on that word. The engine lays words out with ``ocr.fake.layout``
over the page as recognised; these pages are printed upright and straight, so the layout on the
page printed is the layout on the page recognised.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ocr.fake import layout
from tests import scripted as S
from tests.pages import font


def text_page(key: str, text: str, size: tuple[int, int] = S.A4_150) -> np.ndarray:
    """An 8-bit page: ``text`` drawn word by word in the engine's boxes, ``key`` as a QR code."""
    w, h = size
    image = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(image)
    lines = layout(text, w, h)
    for line in lines:
        for word, (x0, y0, x1, y1) in line:
            face = font(max(8, int((y1 - y0) * 0.95)))
            width = draw.textlength(word, font=face)
            if width > x1 - x0:  # a wide word: a smaller face, so it stays inside its box
                face = font(max(8, int((y1 - y0) * 0.95 * (x1 - x0) / width)))
            draw.text((x0, y1), word, font=face, fill=0, anchor="ls")
    page = np.asarray(image, dtype=np.uint8).copy()
    code = cv2.QRCodeEncoder.create().encode(key)
    module = max(3, (w // 5) // code.shape[0])
    code = cv2.resize(code, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    bottom = lines[-1][0][1][3] if lines else h // 10
    x0, y0 = (w - code.shape[1]) // 2, max(bottom + h // 20, h - code.shape[0] - h // 12)
    page[y0 : y0 + code.shape[0], x0 : x0 + code.shape[1]] = code
    return page


def write_text_png(path: Path, key: str, text: str) -> Path:
    return S.write_png(path, text_page(key, text))


def write_text_pdf(path: Path, pages: list[tuple[str, str]]) -> Path:
    return S.write_pdf(path, [text_page(key, text) for key, text in pages])
