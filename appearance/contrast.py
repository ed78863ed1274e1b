"""WCAG 2.x colour contrast, pure: ``#rrggbb`` strings in, numbers out.

    contrast_ratio("#ffffff", "#0b6e4f")   # → 6.37…
    readable_on("#f2a541")                 # → "#000000" (black reads better than white)

No ORM, no Django: the builder uses it to warn about unreadable pairs and the
theme uses it to choose the text colour on the brand-coloured button.
"""

from __future__ import annotations

AA_NORMAL_TEXT = 4.5
BLACK = "#000000"
WHITE = "#ffffff"


def _channels(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"Expected #rrggbb, got {hex_colour!r}")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_colour: str) -> float:
    """WCAG relative luminance: 0.0 (black) to 1.0 (white)."""
    r, g, b = (_linear(c) for c in _channels(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05) with L1 the lighter: from 1.0 to 21.0."""
    a, b = relative_luminance(first), relative_luminance(second)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background``."""
    if contrast_ratio(BLACK, background) >= contrast_ratio(WHITE, background):
        return BLACK
    return WHITE


def mix(first: str, second: str, weight: float) -> str:
    """``weight`` of ``first`` blended with the rest of ``second``, as ``#rrggbb``."""
    pairs = zip(_channels(first), _channels(second), strict=True)
    return "#" + "".join(f"{round(a * weight + b * (1 - weight)):02x}" for a, b in pairs)
