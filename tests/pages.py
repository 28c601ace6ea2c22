"""Pages rendered from known text, and ways to degrade them: the test suite's own inputs.

Used by tests and by bench/ (the benchmarks add the real samples from ../shared on top).
Needs a TrueType font: Debian's fonts-dejavu-core (installed by scripts/bootstrap.sh).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))

TEXTS: dict[str, str] = {
    "rus": (
        "СЛУЖЕБНАЯ ЗАПИСКА № 45/12-п\n"
        "от 12 марта 2024 г.\n"
        "Прошу согласовать закупку канцелярских товаров для отдела\n"
        "документационного обеспечения на сумму 125 400 рублей.\n"
        "Договор поставки будет заключён с обществом с ограниченной\n"
        "ответственностью «Северный ветер» после проверки предложений.\n"
        "Счёт на оплату и коммерческое предложение прилагаются.\n"
        "Начальник отдела закупок Новиков Н. К."
    ),
    "kaz": (
        "ҚЫЗМЕТТІК ХАТ № 17\n"
        "2024 жылғы 5 сәуір\n"
        "Құжаттарды тіркеу бөлімі азаматтардың өтініштерін\n"
        "қабылдау және қарау тәртібін жетілдіру туралы\n"
        "ұсыныстарды қарастырды. Өтініштер күн сайын тіркеледі\n"
        "және жауаптар белгіленген мерзімде жіберіледі.\n"
        "Бөлім басшысы Әлиев Ғ. Ө."
    ),
    "eng": (
        "PURCHASE ORDER No. 2024-118\n"
        "Date: 14 February 2024\n"
        "Please supply the following goods to the procurement office\n"
        "of the university before the end of the month. The invoice\n"
        "must state the contract number and the delivery address.\n"
        "Payment will be made within thirty days of acceptance.\n"
        "Head of Procurement, John Smith"
    ),
}


def font(size: int, serif: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSerif.ttf" if serif else "DejaVuSans.ttf"
    for d in FONT_DIRS:
        if (d / name).exists():
            return ImageFont.truetype(str(d / name), size)
    raise FileNotFoundError(f"{name} not found: apt-get install fonts-dejavu-core")


def render_page(text: str, dpi: int = 300, points: float = 12.0, serif: bool = False) -> np.ndarray:
    """An A4 page (8-bit grayscale) with ``text`` typeset at ``points`` from the top left margin."""
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    f = font(int(points * dpi / 72), serif)
    x, y = int(0.9 * dpi), int(1.0 * dpi)
    line_h = int(points * dpi / 72 * 1.6)
    for line in text.splitlines():
        draw.text((x, y), line, font=f, fill=0)
        y += line_h
    return np.asarray(img, dtype=np.uint8).copy()


def skew(gray: np.ndarray, degrees: float) -> np.ndarray:
    """Tilt counter-clockwise by ``degrees`` (as a page placed crookedly on the glass)."""
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def turn(gray: np.ndarray, clockwise: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(gray, -(clockwise // 90) % 4))


def noisy(gray: np.ndarray, sigma: float = 40.0, specks: float = 0.01, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = gray.astype(np.float64) * 0.85 + 20 + rng.normal(0, sigma, gray.shape)
    mask = rng.random(gray.shape)
    out[mask < specks / 2] = 0
    out[mask > 1 - specks / 2] = 255
    return np.clip(out, 0, 255).astype(np.uint8)


def jpeg(gray: np.ndarray, quality: int = 15) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def blur(gray: np.ndarray, k: int = 5) -> np.ndarray:
    return cv2.GaussianBlur(gray, (k, k), 0)


def dark_border(gray: np.ndarray, width: int = 60) -> np.ndarray:
    out = gray.copy()
    out[:width, :] = 20
    out[:, :width] = 20
    return out


@dataclass(frozen=True)
class Condition:
    name: str
    dpi: int = 300

    def apply(self, gray: np.ndarray) -> np.ndarray:
        n = self.name
        if n == "clean" or n == "150dpi":
            return gray
        if n.startswith("skew"):
            return skew(gray, float(n[4:]))
        if n.startswith("rot"):
            return turn(gray, int(n[3:]))
        if n == "noisy":
            return noisy(gray)
        if n == "jpeg":
            return jpeg(gray)
        if n == "blur":
            return blur(gray)
        if n == "border":
            return dark_border(gray)
        raise ValueError(n)


CONDITIONS = (
    Condition("clean"),
    Condition("skew4"),
    Condition("skew-12"),
    Condition("rot90"),
    Condition("rot180"),
    Condition("rot270"),
    Condition("noisy"),
    Condition("jpeg"),
    Condition("150dpi", dpi=150),
)


def make_page(lang: str, condition: Condition) -> np.ndarray:
    return condition.apply(render_page(TEXTS[lang], dpi=condition.dpi))


def save_png(gray: np.ndarray, path: Path, dpi: int = 300) -> Path:
    Image.fromarray(gray).save(path, "PNG", dpi=(dpi, dpi))
    return path


def save_tiff(pages: list[np.ndarray], path: Path, dpi: int = 300) -> Path:
    first, *rest = [Image.fromarray(p) for p in pages]
    first.save(path, "TIFF", save_all=True, append_images=rest, compression="tiff_lzw", dpi=(dpi, dpi))
    return path


def image_pdf(pages: list[np.ndarray], path: Path, dpi: int = 300) -> Path:
    """A scanned-style PDF: each page one image, no text layer."""
    images = [Image.fromarray(p) for p in pages]
    images[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:])
    return path


def text_pdf(texts: list[str], path: Path) -> Path:
    """A born-digital PDF with a real text layer (Cyrillic included), one page per text."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font_dir = next(d for d in FONT_DIRS if (d / "DejaVuSans.ttf").exists())
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(font_dir / "DejaVuSans.ttf")))
    c = canvas.Canvas(str(path), pagesize=(595, 842))
    for text in texts:
        c.setFont("DejaVuSans", 12)
        y = 770
        for line in text.splitlines():
            c.drawString(72, y, line)
            y -= 18
        c.showPage()
    c.save()
    return path
