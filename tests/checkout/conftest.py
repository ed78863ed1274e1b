from tests.browser import chromium, page, page_without_js, shop  # noqa: F401
