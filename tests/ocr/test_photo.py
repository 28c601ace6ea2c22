"""Phone photos of pages with known text: found, evened out, scaled, and read (issue 13).

``photograph`` turns a rendered page into what a phone sends: the page in perspective on a dark
desk (or cropped at its edges), unevenly lit, with a colour cast, small, blurred, noisy and
JPEG-compressed. bench/photo_bench.py uses the same function for its generated photos.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ocr import photo
from ocr.config import OcrConfig
from ocr.run import recognize_files
from tests import pages as P
from tests.cer import cer

#: A warm (yellowish) cast: blue and green weaker than red, as under indoor light (B, G, R).
CAST = (0.72, 0.88, 1.0)


def _shading(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Light falling off across the page from one corner (0.5-1.0), as from a desk lamp."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h * 0.3)
    dist = np.hypot(xx - cx, yy - cy) / np.hypot(w, h)
    return np.clip(1.0 - 0.6 * dist, 0.45, 1.0)


def photograph(page: np.ndarray, *, across: int = 1150, cropped: bool = False, seed: int = 0) -> np.ndarray:
    """A BGR phone photo ``across`` pixels wide of a grayscale ``page``.

    Whole page (``cropped=False``): the page fills about 80 % of the frame, corners pulled
    inwards by up to 6 % (perspective), on a dark textured desk. Cropped: the frame lies inside
    the page, a few per cent cut from each edge, no desk. Both: shading, colour cast, a little
    blur, sensor noise, JPEG quality 75.
    """
    rng = np.random.default_rng(seed)
    ph, pw = page.shape
    width, height = across, int(across * ph / pw * (1.0 if cropped else 1.08))
    if cropped:
        cut = rng.uniform(0.03, 0.06, 4)
        src = np.float32([[pw * cut[0], ph * cut[1]], [pw * (1 - cut[2]), ph * cut[1]], [pw * (1 - cut[2]), ph * (1 - cut[3])], [pw * cut[0], ph * (1 - cut[3])]])
        dst = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    else:
        src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
        mx = width * 0.1
        my = (height - 0.8 * width * ph / pw) / 2  # the page keeps its proportions
        jitter = rng.uniform(0.0, 0.06, (4, 2)) * [width, height]
        dst = np.float32([[mx, my], [width - mx, my], [width - mx, height - my], [mx, height - my]])
        dst += (jitter * [[1, 1], [-1, 1], [-1, -1], [1, -1]]).astype(np.float32)
    # Shrink first (area averaging, as a camera's sensor does), then warp at about the final size.
    shrink = float(np.linalg.norm(dst[1] - dst[0]) / pw)
    small = cv2.resize(page, None, fx=shrink * 1.2, fy=shrink * 1.2, interpolation=cv2.INTER_AREA)
    m = cv2.getPerspectiveTransform(src * shrink * 1.2, dst)
    paper = np.full((height, width), 0, np.uint8)
    warped = cv2.warpPerspective(small, m, (width, height), flags=cv2.INTER_LINEAR, borderValue=0)
    inside = cv2.warpPerspective(np.full(small.shape, 255, np.uint8), m, (width, height), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    paper = np.where(inside, warped, paper)
    light = _shading(height, width, rng)
    colour = np.stack([paper.astype(np.float32) * light * (0.93 * c) for c in CAST], axis=2)
    desk = rng.normal(45, 8, (height, width, 3)).astype(np.float32) * np.float32([1.0, 0.95, 0.9])
    img = np.where(inside[..., None], colour, cv2.GaussianBlur(desk, (7, 7), 0))
    img = cv2.GaussianBlur(img, (3, 3), 0.7) + rng.normal(0, 3.0, img.shape)
    ok, buf = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR))


def photo_page(lang: str = "rus", *, across: int = 1150, cropped: bool = False, seed: int = 0, points: float = 11.0) -> np.ndarray:
    """The known text of ``lang`` typeset on A4 and photographed."""
    return photograph(P.render_page(P.TEXTS[lang], points=points), across=across, cropped=cropped, seed=seed)


# --- the steps, without Tesseract ---------------------------------------------------------------


@pytest.fixture(scope="module")
def scan() -> np.ndarray:
    return P.render_page(P.TEXTS["rus"], points=10.0)


@pytest.fixture(scope="module")
def desk_photo() -> np.ndarray:
    return photo_page(across=900, points=9.0)


@pytest.fixture(scope="module")
def cropped_photo() -> np.ndarray:
    return photo_page(across=650, points=9.0, cropped=True, seed=1)


def test_a_flatbed_scan_takes_none_of_the_photo_steps(scan: np.ndarray) -> None:
    colour = np.repeat(scan[:, :, None], 3, axis=2)
    for image in (None, colour):
        fixed = photo.fix_photo(scan, image, 300, OcrConfig())
        assert fixed.steps == ()
        assert fixed.gray is scan and fixed.dpi == 300


def test_text_height_follows_the_resolution(scan: np.ndarray) -> None:
    full = photo.text_height(scan)
    half = photo.text_height(P.render_page(P.TEXTS["rus"], dpi=150, points=10.0))
    assert 18 <= full <= 32
    assert full / half == pytest.approx(2.0, rel=0.15)


def test_small_text_is_scaled_to_the_target_and_large_text_left_alone() -> None:
    cfg = OcrConfig()
    assert photo.scale_for(7.0, cfg) == pytest.approx(4.0)  # capped
    assert photo.scale_for(10.0, cfg) == pytest.approx(2.8)
    assert photo.scale_for(25.0, cfg) == 1.0
    assert photo.scale_for(0.0, cfg) == 1.0  # too little text to tell
    assert photo.scale_for(7.0, cfg.model_copy(update={"scale_text": False})) == 1.0
    assert photo.scale_for(7.0, cfg, side=3500) == pytest.approx(2.0)  # no page past MAX_SIDE
    assert photo.scale_for(7.0, cfg, side=6500) == 1.0  # 1.08: not worth resampling

def test_text_scaled_up_a_lot_is_sharpened_and_a_small_factor_is_not() -> None:
    # An ink stroke 2 px wide: scaled 4x with cubic interpolation its edges ramp over several pixels.
    stroke = np.full((20, 20), 230, np.uint8)
    stroke[:, 9:11] = 40
    soft = photo.scale_text(stroke, 4.0)
    crisp = photo.scale_text(stroke, 4.0, sharpen=1.0)
    assert crisp.shape == soft.shape == (80, 80) and crisp.dtype == np.uint8
    edge = lambda img: int(np.abs(np.diff(img[40].astype(int))).max())  # noqa: E731
    assert edge(crisp) > 1.2 * edge(soft)
    assert int(crisp[40, 40]) <= int(soft[40, 40]) and int(crisp[40, 5]) >= int(soft[40, 5])  # ink darker, paper not darker
    assert np.array_equal(photo.scale_text(stroke, 2.5, sharpen=1.0), photo.scale_text(stroke, 2.5))
    assert np.array_equal(photo.scale_text(stroke, 0.5, sharpen=1.0), photo.scale_text(stroke, 0.5))



def test_the_page_is_found_on_the_desk_and_not_in_a_cropped_photo(desk_photo: np.ndarray, cropped_photo: np.ndarray, scan: np.ndarray) -> None:
    corners = photo.find_page(desk_photo)
    assert corners is not None
    h, w = desk_photo.shape[:2]
    # photograph() puts the corners 10 % (x) and 13 % (y) in from the frame, pulled in by up to 6 % more.
    tl, _, br, _ = corners
    assert 0.09 * w <= tl[0] <= 0.17 * w and 0.12 * h <= tl[1] <= 0.20 * h
    assert 0.83 * w <= br[0] <= 0.91 * w and 0.80 * h <= br[1] <= 0.88 * h
    flat = photo.unwarp(desk_photo, corners)
    assert flat.shape[0] / flat.shape[1] == pytest.approx(297 / 210, rel=0.08)  # A4 again
    assert photo.find_page(cropped_photo) is None
    assert photo.find_page(scan) is None


def test_evening_out_makes_shaded_tinted_paper_white(cropped_photo: np.ndarray) -> None:
    bg = photo.background(cropped_photo, photo.text_height(cropped_photo))
    assert bg.cast > 1.2 and bg.unevenness > 1.2
    gray = photo.flatten(cropped_photo, bg)
    h, w = gray.shape
    # Paper in every corner ends up near white; before, the shaded corner was far darker.
    corners = [gray[: h // 5, : w // 5], gray[: h // 5, -w // 5 :], gray[-h // 5 :, : w // 5], gray[-h // 5 :, -w // 5 :]]
    assert min(float(np.percentile(c, 75)) for c in corners) > 225
    before = cv2.cvtColor(cropped_photo, cv2.COLOR_BGR2GRAY)
    assert min(float(np.percentile(before[: h // 5, : w // 5], 75)), float(np.percentile(before[-h // 5 :, -w // 5 :], 75))) < 200
    # ...and the ink stays dark (letters 8 px high are blurred gray at their darkest, not black).
    assert float(np.percentile(gray, 0.1)) < 130


def test_each_photo_step_can_be_switched_off(desk_photo: np.ndarray) -> None:
    gray = cv2.cvtColor(desk_photo, cv2.COLOR_BGR2GRAY)
    assert [s.rstrip("0123456789.") for s in photo.fix_photo(gray, desk_photo, 300, OcrConfig()).steps] == ["page", "flatten", "scale"]
    off = OcrConfig(find_page=False, even_light=False, scale_text=False)
    fixed = photo.fix_photo(gray, desk_photo, 300, off)
    assert fixed.steps == () and fixed.gray is gray


# --- read by Tesseract ---------------------------------------------------------------------------


@pytest.mark.tesseract
def test_a_photographed_page_reads_about_as_well_as_the_clean_page(engine, tmp_path: Path) -> None:
    text = P.TEXTS["rus"]
    clean = P.save_png(P.render_page(text, points=9.0), tmp_path / "clean.png")
    shot = tmp_path / "photo.jpg"
    cv2.imwrite(str(shot), photo_page(across=900, points=9.0, seed=3))
    cfg = OcrConfig(languages="rus+eng")
    by_name = {Path(r.path).name: r.pages[0] for r in recognize_files([clean, shot], cfg, engine)}
    assert by_name["clean.png"].steps == ()  # nothing is wrong with a clean scan: no photo step runs
    steps = [s.rstrip("0123456789.") for s in by_name["photo.jpg"].steps]
    assert steps[:3] == ["page", "flatten", "scale"]
    clean_cer, photo_cer = cer(text, by_name["clean.png"].text), cer(text, by_name["photo.jpg"].text)
    # Raw Tesseract on the same photo: CER 0.2-0.6. One character in a hundred of slack where
    # the clean page reads perfectly (1.5 x 0 leaves no room for a single slip).
    assert photo_cer <= max(1.5 * clean_cer, 0.01), by_name["photo.jpg"].text


def test_a_short_page_photographed_small_is_still_measured_and_scaled() -> None:
    # Five short lines: few letters stand alone (at this size they touch and form words).
    text = "ЗАЯВЛЕНИЕ\nг. Астана 2022-05-06\nПрошу предоставить отпуск.\nЖумабаев Н. К.\nИНН 4848884474"
    image = photograph(P.render_page(text, points=9.0), across=650, cropped=True, seed=3)
    colour = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    height = photo.text_height(colour)
    assert 4.0 <= height <= 14.0
    fixed = photo.fix_photo(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), colour, 72, OcrConfig())
    assert any(step.startswith("scale") for step in fixed.steps), fixed.steps
