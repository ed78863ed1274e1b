"""From validated tokens to what a renderer needs: CSS custom properties and a palette.

Pure. The hosted page, the builder's preview and the emails all derive their
colours here, so a merchant brands once::

    palette(tokens)["--duro-brand-text"]   # black or white, whichever reads better
    theme_css(tokens)                      # ':root{--duro-brand:#0b6e4f;…}'

Every value comes from :func:`appearance.tokens.tokens_validate` output (hex
colours, a font key, an int), and is checked again here, so the stylesheet
can only ever hold ``:root{…}`` with known properties.
"""

from __future__ import annotations

import functools

from appearance.contrast import AA_NORMAL_TEXT, contrast_ratio, mix, readable_on
from appearance.tokens import FONTS, HEX

ERROR_ON_LIGHT, ERROR_ON_DARK = "#b3261e", "#ffb4ab"


def _muted(text: str, background: str, surface: str) -> str:
    """A softer text colour that still reads at 4.5:1 on both backgrounds."""
    for weight in (0.7, 0.8, 0.9):
        candidate = mix(text, background, weight)
        if min(contrast_ratio(candidate, background),
               contrast_ratio(candidate, surface)) >= AA_NORMAL_TEXT:
            return candidate
    return text


def palette(tokens: dict) -> dict[str, str]:
    """The CSS custom properties of a token set, in ``static/checkout/checkout.css`` names.

    Worked out once per distinct set in a process (every hosted page and hydrate shows it;
    the contrast arithmetic cost as much as the page's database read)."""
    return dict(_palette(tokens["brand_color"], tokens["accent_color"],
                         tokens["background_color"], tokens["surface_color"],
                         tokens["text_color"], int(tokens["radius"]), tokens["font"]))


@functools.lru_cache(maxsize=1024)
def _palette(brand: str, accent: str, bg: str, surface: str, text: str, radius: int,
             font: str) -> tuple[tuple[str, str], ...]:
    for value in (brand, accent, bg, surface, text):
        if not HEX.match(value):  # belt and braces: never emit anything but a colour
            raise ValueError(f"Not a validated colour: {value!r}")
    error = ERROR_ON_LIGHT if contrast_ratio(ERROR_ON_LIGHT, surface) >= AA_NORMAL_TEXT else (
        ERROR_ON_DARK)
    return tuple({
        "--duro-brand": brand,
        "--duro-brand-text": readable_on(brand),
        "--duro-accent": accent,
        "--duro-accent-text": readable_on(accent),
        "--duro-bg": bg,
        "--duro-surface": surface,
        "--duro-text": text,
        "--duro-muted": _muted(text, bg, surface),
        "--duro-error": error,
        "--duro-border": mix(text, surface, 0.3),
        "--duro-radius": f"{radius}px",
        "--duro-font": FONTS[font][1],
    }.items())


def theme_css(tokens: dict) -> str:
    """The per-merchant stylesheet: only ``:root{…}`` custom properties (and color-scheme)."""
    scheme = "dark" if tokens.get("scheme") == "dark" else "light"
    body = ";".join(f"{name}:{value}" for name, value in palette(tokens).items())
    return f":root{{{body};color-scheme:{scheme}}}\n"
