"""The builder's form: one field per token, validated by the one token gate.

Field-level checks are left to :func:`appearance.tokens.tokens_validate` so
the admin, the preview and any future API refuse exactly the same things
with the same messages; the logo goes through :func:`appearance.logos.logo_clean`.
"""

from __future__ import annotations

from django import forms

from appearance.logos import MAX_BYTES, LogoRefused, logo_clean
from appearance.tokens import (
    COLOURS,
    COPY_LIMITS,
    FONTS,
    LABELS,
    RADIUS_MAX,
    RADIUS_MIN,
    SCHEMES,
    TokenErrors,
    tokens_validate,
)

HELP = {
    "pay_label": "Optional. May use {amount}, e.g. “Start membership · {amount}”.",
    "support_contact": "An email address or phone number customers can reach you on.",
    "terms_url": "Optional https:// link to your terms.",
    "radius": f"{RADIUS_MIN}–{RADIUS_MAX} px.",
}
TOKEN_FIELDS = (*COLOURS, "font", "radius", "scheme", "headline", "subheadline", "pay_label",
                "success_message", "support_contact", "terms_url")


class AppearanceForm(forms.Form):
    logo_file = forms.FileField(label="Logo", required=False,
                                help_text=f"PNG, JPEG or WebP, up to {MAX_BYTES // 1024} KB. "
                                          "No SVG.")
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    def __init__(self, *args, draft: dict, **kwargs):
        kwargs["initial"] = draft
        super().__init__(*args, **kwargs)
        self.draft = draft
        fields = {}
        for name in TOKEN_FIELDS:
            label, help_text = LABELS[name], HELP.get(name, "")
            field: forms.Field
            if name in COLOURS:
                field = forms.CharField(label=label, max_length=40, widget=forms.TextInput(
                    attrs={"type": "color", "data-preview": ""}))
            elif name == "font":
                field = forms.ChoiceField(label=label, choices=[(k, v[0]) for k, v in
                                                                FONTS.items()])
            elif name == "scheme":
                field = forms.ChoiceField(label=label, choices=[(s, s.title()) for s in SCHEMES])
            elif name == "radius":
                field = forms.CharField(label=label, max_length=8, widget=forms.NumberInput(
                    attrs={"min": RADIUS_MIN, "max": RADIUS_MAX}))
            else:
                limit = COPY_LIMITS.get(name, 500)
                field = forms.CharField(label=label, required=False, max_length=limit)
            field.help_text = help_text
            field.widget.attrs["data-preview"] = ""
            fields[name] = field
        # Token fields first, in the token order; the logo controls last.
        self.fields = {**fields, **self.fields}
        self.clean_logo = None

    def clean_logo_file(self):
        upload = self.cleaned_data.get("logo_file")
        if not upload:
            return None
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The logo is {upload.size // 1024} KB; the limit is "
                                        f"{MAX_BYTES // 1024} KB.")
        try:
            self.clean_logo = logo_clean(data=upload.read(), name=upload.name or "",
                                         content_type=getattr(upload, "content_type", "") or "")
        except LogoRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload

    def clean(self):
        cleaned = super().clean()
        changes = {name: cleaned[name] for name in TOKEN_FIELDS if name in cleaned}
        try:
            self.tokens = tokens_validate(changes, base=self.draft)
        except TokenErrors as exc:
            for name, message in exc.errors.items():
                self.add_error(name if name in self.fields else None, message)
        return cleaned

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in TOKEN_FIELDS}
