"""Static files as Duro serves them (WhiteNoise): their URLs worked out once per process.

Django's storage joins the base URL and quotes the name on every ``{% static %}``; the
hosted page has a handful of them and it showed as a tenth of the page's time. The
answer depends on nothing but the name and the settings, which a process does not change.
"""

from __future__ import annotations

import functools

from django.contrib.staticfiles.storage import StaticFilesStorage


class CachedURLStaticFilesStorage(StaticFilesStorage):
    @functools.cache  # noqa: B019 - one storage object per process; names are few
    def url(self, name):
        return super().url(name)
