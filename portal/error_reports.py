"""What error reports (the DEBUG page, the admins' error mails) may show of the settings."""

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@host or scheme://token@host: the credentials ride in the value, under names
# (REDIS_URL, Q_CLUSTER's "redis", CACHES' LOCATION) that Django's name-based filter lets through.
URL_WITH_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#@\s]+@", flags=re.IGNORECASE)


class CredentialUrlReporterFilter(SafeExceptionReporterFilter):
    """Django's filter hides values by name (its pattern, kept below: KEY, SECRET, PASS...); this one also
    hides every *_URL setting (a webhook URL is itself a credential) and any URL carrying credentials."""

    hidden_settings = re.compile(
        r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL$", flags=re.IGNORECASE
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        # str() because lazy strings (django-axes has one) pass isinstance but not re.search.
        if isinstance(cleansed, str) and URL_WITH_CREDENTIALS.search(str(cleansed)):
            return self.cleansed_substitute
        return cleansed
