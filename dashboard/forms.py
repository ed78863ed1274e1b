"""The dashboard's sign-in form: merchants sign in with their email (it is their login)."""

from __future__ import annotations

from unfold.forms import AuthenticationForm


class EmailLoginForm(AuthenticationForm):
    """The theme's sign-in, asking for "Email": a staff login is its email address.

    The field stays a text input: a second business of the same owner has the
    login ``email+slug``, which a browser's email check would refuse.
    """

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update({"autocomplete": "email",
                                                     "inputmode": "email"})

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()
