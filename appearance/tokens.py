"""The appearance token set: what a merchant may choose, and the only way in.

Tokens are plain values (strict ``#rrggbb`` colours, a font *key*, a bounded
radius, a scheme, a logo hash, short copy). :func:`tokens_validate` is the
single gate: everything stored in a draft or a published version went through
it, so nothing a merchant types can become raw CSS or HTML. Pure: no ORM::

    tokens = tokens_validate({"brand_color": "#0b6e4f", "font": "serif"})
    tokens_validate({"brand_color": "red;}body{display:none}"})  # raises TokenErrors
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from appearance.contrast import AA_NORMAL_TEXT, contrast_ratio

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_HASH = re.compile(r"^[0-9a-f]{64}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,22}$")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Keys, never CSS: a merchant picks a key, the stack is ours.
FONTS = {
    "system": ('System UI', 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", '
                            'Arial, sans-serif'),
    "humanist": ("Humanist sans", 'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", '
                                  'source-sans-pro, sans-serif'),
    "geometric": ("Geometric sans", 'Avenir, Montserrat, Corbel, "URW Gothic", '
                                    'source-sans-pro, sans-serif'),
    "serif": ("Serif", 'Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, serif'),
    "rounded": ("Rounded", 'ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, '
                           'Manjari, "Arial Rounded MT", Calibri, sans-serif'),
    "mono": ("Monospace", 'ui-monospace, "Cascadia Code", "Source Code Pro", Menlo, Consolas, '
                          '"DejaVu Sans Mono", monospace'),
}
SCHEMES = ("light", "dark")
RADIUS_MIN, RADIUS_MAX = 0, 24
COLOURS = ("brand_color", "accent_color", "background_color", "surface_color", "text_color")
COPY_LIMITS = {"headline": 80, "subheadline": 160, "pay_label": 40, "success_message": 160}

DEFAULTS: dict = {
    "brand_color": "#0b6e4f", "accent_color": "#f2a541", "background_color": "#f4f6f5",
    "surface_color": "#ffffff", "text_color": "#17211c", "font": "system", "radius": 12,
    "scheme": "light", "logo": "", "headline": "", "subheadline": "", "pay_label": "",
    "success_message": "", "support_contact": "", "terms_url": "",
}
DARK_DEFAULTS = {**DEFAULTS, "brand_color": "#4cc38a", "background_color": "#101513",
                 "surface_color": "#18201c", "text_color": "#eef3f0"}
LABELS = {
    "brand_color": "Brand colour", "accent_color": "Accent colour",
    "background_color": "Background colour", "surface_color": "Surface colour",
    "text_color": "Text colour", "font": "Font", "radius": "Corner radius", "scheme": "Scheme",
    "logo": "Logo", "headline": "Headline", "subheadline": "Sub-headline",
    "pay_label": "Pay button label", "success_message": "Success message",
    "support_contact": "Support contact", "terms_url": "Terms URL",
}


class TokenErrors(ValueError):
    """One or more tokens were refused; ``errors`` maps each token to a clear message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _colour(value) -> str:
    if not isinstance(value, str) or not HEX.match(value.strip()):
        raise ValueError("Use a hex colour of the form #rrggbb (for example #0b6e4f).")
    return value.strip().lower()


def _radius(value) -> int:
    if isinstance(value, bool):
        raise ValueError("Use a whole number of pixels.")
    try:
        number = int(str(value).strip().removesuffix("px"))
    except (TypeError, ValueError):
        raise ValueError("Use a whole number of pixels.") from None
    if not RADIUS_MIN <= number <= RADIUS_MAX:
        raise ValueError(f"Use a radius from {RADIUS_MIN} to {RADIUS_MAX} px.")
    return number


def _choice(options):
    def check(value) -> str:
        if value not in options:
            raise ValueError(f"Choose one of: {', '.join(options)}.")
        return value
    return check


def _text(name: str):
    def check(value) -> str:
        if not isinstance(value, str):
            raise ValueError("Must be text.")
        value = " ".join(value.split())
        if CONTROL.search(value):
            raise ValueError("Control characters are not allowed.")
        if len(value) > COPY_LIMITS[name]:
            raise ValueError(f"Keep it to {COPY_LIMITS[name]} characters or fewer.")
        if name == "pay_label":
            if any(p != "{amount}" for p in PLACEHOLDER.findall(value)) or (
                    PLACEHOLDER.sub("", value).count("{") or PLACEHOLDER.sub("", value).count("}")):
                raise ValueError("The only placeholder allowed is {amount}.")
        elif "{" in value or "}" in value:
            raise ValueError("Braces are not allowed here.")
        return value
    return check


def _contact(value) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    value = value.strip()
    if not value:
        return ""
    if "@" in value:
        try:
            validate_email(value)
        except ValidationError:
            raise ValueError("Enter a valid email address or phone number.") from None
        return value
    if not PHONE.match(value) or sum(c.isdigit() for c in value) < 7:
        raise ValueError("Enter a valid email address or phone number.")
    return value


def _terms(value) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    value = value.strip()
    if not value:
        return ""
    if len(value) > 500:
        raise ValueError("Keep the URL to 500 characters or fewer.")
    try:
        URLValidator(schemes=["https"])(value)
    except ValidationError:
        raise ValueError("Enter a full https:// URL.") from None
    return value


def _logo(value) -> str:
    if value in ("", None):
        return ""
    if not isinstance(value, str) or not LOGO_HASH.match(value):
        raise ValueError("Upload the logo as a file; it cannot be set by value.")
    return value


CHECKS = {
    **dict.fromkeys(COLOURS, _colour), "font": _choice(tuple(FONTS)), "radius": _radius,
    "scheme": _choice(SCHEMES), "logo": _logo, "support_contact": _contact,
    "terms_url": _terms, **{name: _text(name) for name in COPY_LIMITS},
}


def tokens_validate(data: dict, *, base: dict | None = None) -> dict:
    """A complete, clean token set: ``data`` over ``base`` (default: :data:`DEFAULTS`).

    Unknown keys are refused too, so a typo never silently does nothing.
    """
    clean = dict(base or DEFAULTS)
    errors: dict[str, str] = {}
    for name, value in data.items():
        check = CHECKS.get(name)
        if check is None:
            errors[name] = "Unknown appearance setting."
            continue
        try:
            clean[name] = check(value)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise TokenErrors(errors)
    return clean


def tokens_lenient(data: dict, *, base: dict) -> dict:
    """``data`` over ``base``, keeping the base value for each refused token (for previews)."""
    clean = dict(base)
    for name, value in data.items():
        if name in CHECKS:
            try:
                clean[name] = CHECKS[name](value)
            except ValueError:
                continue
    return clean


def contrast_warnings(tokens: dict) -> list[str]:
    """Readable-text warnings (WCAG AA, 4.5:1) for the pairs the page really shows."""
    warnings = []
    for bg in ("background_color", "surface_color"):
        ratio = contrast_ratio(tokens["text_color"], tokens[bg])
        if ratio < AA_NORMAL_TEXT:
            warnings.append(f"Text colour on {LABELS[bg].lower()} has contrast {ratio:.2f}:1, "
                            f"under the 4.5:1 that WCAG AA asks for text.")
    return warnings


def pay_label(tokens: dict, amount_label: str) -> str:
    """The pay button's text: the merchant's label with ``{amount}`` filled in, or the default."""
    label = tokens.get("pay_label") or ""
    if not label:
        return f"Pay {amount_label}"
    return label.replace("{amount}", amount_label)
