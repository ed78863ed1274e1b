"""The token gate, the contrast maths and the theme stylesheet: pure functions."""

import pytest

from appearance.contrast import contrast_ratio, readable_on, relative_luminance
from appearance.theme import palette, theme_css
from appearance.tokens import DEFAULTS, TokenErrors, contrast_warnings, pay_label, tokens_validate


def test_wcag_contrast_maths():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#0b6e4f", "#ffffff") == contrast_ratio("#ffffff", "#0b6e4f")


@pytest.mark.parametrize(("brand", "text"), [("#0b6e4f", "#ffffff"), ("#f2a541", "#000000"),
                                             ("#ffff00", "#000000"), ("#1a237e", "#ffffff")])
def test_the_button_text_is_whichever_of_black_or_white_reads_better(brand, text):
    assert readable_on(brand) == text
    assert palette({**DEFAULTS, "brand_color": brand})["--duro-brand-text"] == text


@pytest.mark.parametrize(("name", "value", "message"), [
    ("brand_color", "red;}body{display:none}", "#rrggbb"),
    ("brand_color", "#fff", "#rrggbb"),
    ("text_color", "rgb(0,0,0)", "#rrggbb"),
    ("accent_color", "#12345g", "#rrggbb"),
    ("font", "Comic Sans; } body {", "Choose one of"),
    ("font", "Papyrus", "Choose one of"),
    ("radius", "12px;color:red", "whole number"),
    ("radius", 99, "from 0 to 24"),
    ("scheme", "neon", "Choose one of"),
    ("pay_label", "Pay {amount} {merchant}", "only placeholder allowed is {amount}"),
    ("pay_label", "Pay {amount.__class__}", "only placeholder"),
    ("headline", "{amount}", "Braces"),
    ("headline", "x" * 81, "80 characters"),
    ("support_contact", "call me maybe", "email address or phone"),
    ("terms_url", "http://shop.example/terms", "https://"),
    ("terms_url", "javascript:alert(1)", "https://"),
    ("logo", "https://evil.example/x.svg", "Upload the logo"),
    ("css", "body{}", "Unknown appearance setting"),
])
def test_refused_tokens_say_why(name, value, message):
    with pytest.raises(TokenErrors) as refused:
        tokens_validate({name: value})
    assert message in refused.value.errors[name]


def test_valid_tokens_are_normalised():
    tokens = tokens_validate({"brand_color": "#AA00FF", "radius": "8", "pay_label":
                              "  Join   now · {amount} ", "support_contact": "+234 803 123 4567",
                              "terms_url": "https://shop.example/terms"})
    assert tokens["brand_color"] == "#aa00ff" and tokens["radius"] == 8
    assert pay_label(tokens, "₦15,000.00") == "Join now · ₦15,000.00"
    assert pay_label(DEFAULTS, "₦15,000.00") == "Pay ₦15,000.00"


def test_theme_css_holds_only_root_custom_properties():
    css = theme_css({**DEFAULTS, "brand_color": "#ffeb3b", "font": "serif", "radius": 4,
                     "scheme": "dark"})
    assert css.startswith(":root{") and css.strip().endswith("}") and css.count("{") == 1
    assert "--duro-brand:#ffeb3b;" in css and "--duro-brand-text:#000000;" in css
    assert "--duro-radius:4px;" in css and "Georgia, serif" in css
    assert "color-scheme:dark" in css
    with pytest.raises(ValueError):
        palette({**DEFAULTS, "brand_color": "red;}body{display:none}"})


def test_builder_warns_about_unreadable_text():
    assert contrast_warnings(DEFAULTS) == []
    warnings = contrast_warnings({**DEFAULTS, "text_color": "#aaaaaa"})
    assert len(warnings) == 2 and "4.5:1" in warnings[0]


def test_muted_text_stays_readable():
    for tokens in (DEFAULTS, {**DEFAULTS, "background_color": "#101513",
                              "surface_color": "#18201c", "text_color": "#eef3f0"}):
        colours = palette(tokens)
        for bg in ("--duro-bg", "--duro-surface"):
            assert contrast_ratio(colours["--duro-muted"], colours[bg]) >= 4.5
