"""Recognising separator sheets on a page image: is it blank, which QR codes or barcodes does it carry.

Recognition (ocr/page.py) marks every page with these; ``ingest/documents.py`` then cuts the
pages into documents from the marks. Pages are 8-bit grayscale ndarrays (colour and 16-bit input
are converted). Every function is pure and may run in a worker process.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import numpy.typing as npt


log = logging.getLogger(__name__)

#: Fraction of each side ignored by blank detection: scanner borders, punch holes, shadows.
BLANK_MARGIN = 0.06
#: A page whose ink (after removing specks) covers less than this fraction of the centre is blank.
#: One short word of 10 pt text covers about 0.01 %; an empty sheet, specks removed, covers 0.
BLANK_MAX_INK = 0.00003
#: Ink must be at least this much darker than the paper (0-255) to count.
BLANK_MIN_CONTRAST = 60
#: A page whose paper (median) is darker than this is a photo or a dark page, never a separator.
BLANK_MIN_PAPER = 110


def to_gray8(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """``image`` as a 2-D uint8 array (BGR/BGRA colour and 16-bit or float input are converted)."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if array.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        array = cv2.cvtColor(array, code)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale or 3-D colour image, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return np.where(array, 255, 0).astype(np.uint8)
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating) and array.size and float(array.max()) <= 1.0:
        array = array * 255.0
    return np.clip(array, 0, 255).astype(np.uint8)


def _central(gray: npt.NDArray[np.uint8], margin: float) -> npt.NDArray[np.uint8]:
    height, width = gray.shape
    dy, dx = int(height * margin), int(width * margin)
    return gray[dy : height - dy, dx : width - dx]


def _ink_mask(area: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | None:
    """Pixels clearly darker than the paper, or None when the paper itself is dark."""
    smooth = cv2.medianBlur(area, 3)
    paper = float(np.median(smooth))
    if paper < BLANK_MIN_PAPER:
        return None
    otsu, _ = cv2.threshold(smooth, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    limit = min(otsu, paper - BLANK_MIN_CONTRAST)
    # "<=": on a two-tone (binarised) page Otsu returns 0, the ink level itself.
    mask: npt.NDArray[np.uint8] = (smooth <= limit).astype(np.uint8)
    return mask


def _ink_without_specks(mask: npt.NDArray[np.uint8]) -> int:
    """Ink pixels left after dropping dust specks and blobs touching the edge (border remnants)."""
    height, width = mask.shape
    min_area = max(4, round((min(height, width) / 400) ** 2 * 3))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    ink = 0
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        touches_edge = x == 0 or y == 0 or x + w >= width or y + h >= height
        if area >= min_area and not touches_edge:
            ink += area
    return ink


def ink_coverage(gray: npt.NDArray[np.generic], *, margin: float = BLANK_MARGIN) -> float:
    """Fraction of the central area covered by ink (specks and edge blobs excluded); 1.0 for dark pages."""
    area = _central(to_gray8(gray), margin)
    if area.size == 0:
        return 0.0
    mask = _ink_mask(area)
    if mask is None:
        return 1.0
    return _ink_without_specks(mask) / area.size


def is_blank_page(
    gray: npt.NDArray[np.generic], *, max_ink: float = BLANK_MAX_INK, margin: float = BLANK_MARGIN
) -> bool:
    """Whether the page carries no content: an empty sheet, possibly with noise and a dark border."""
    return ink_coverage(gray, margin=margin) < max_ink


def _decode_qr(gray: npt.NDArray[np.uint8]) -> list[str]:
    """QR texts; the ArUco-based detector first, the classic one when it missed or failed to decode."""
    found: list[str] = []
    complete = False
    aruco = getattr(cv2, "QRCodeDetectorAruco", None)
    if aruco is not None:
        ok, texts, _, _ = aruco().detectAndDecodeMulti(gray)
        found = [t for t in texts if t] if ok else []
        complete = bool(found) and len(found) == len(texts)
    if complete:
        return found
    detector = cv2.QRCodeDetector()
    ok, texts, _, _ = detector.detectAndDecodeMulti(gray)
    found += [t for t in texts if t] if ok else []
    if not found:  # the multi detector misses some single codes the plain one reads
        text, _, _ = detector.detectAndDecode(gray)
        found = [text] if text else []
    return found


def _decode_barcodes(gray: npt.NDArray[np.uint8]) -> list[str]:
    module = getattr(cv2, "barcode", None)
    factory = getattr(module, "BarcodeDetector", None)
    if factory is None:
        return []
    result = factory().detectAndDecodeMulti(gray)
    ok, texts = result[0], result[1]
    return [t for t in texts if t] if ok else []


def read_codes(gray: npt.NDArray[np.generic]) -> list[str]:
    """Texts of the QR codes and 1-D barcodes on the page, each once, in the order found.

    A detector failure inside OpenCV is logged and treated as "no code found".
    """
    image = to_gray8(gray)
    codes: list[str] = []
    for decode in (_decode_qr, _decode_barcodes):
        try:
            codes.extend(decode(image))
        except cv2.error as e:
            log.warning("code detection failed (%s): %s", decode.__name__, e)
    return list(dict.fromkeys(code.strip() for code in codes if code.strip()))
