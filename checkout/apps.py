"""Checkout sessions, the hosted page and the pay (mode-scoped)."""

from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"
    verbose_name = "Checkout"

    def ready(self):
        # The appearance builder previews the hosted page; appearance sits below checkout
        # and never imports it, so checkout passes its renderer down.
        from appearance.preview import preview_register
        from checkout.preview import preview_response

        preview_register(preview_response)

        # A rail's late answer (a transfer that arrived) for a session's payment completes
        # the session through the same settle as a card pay.
        from billing.confirmations import session_settler_register
        from checkout.pay import attempt_settle

        session_settler_register(attempt_settle)
