"""What a field extractor returns: a value, where it was found, and how sure the extractor is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Found:
    value: object
    #: character offset and length of the match in the page text
    offset: int
    length: int = 0
    confidence: float = 0.8
