import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_application = get_wsgi_application()

from integrations.webhook_wsgi import webhook_fast_path  # noqa: E402 - needs the apps loaded above

application = webhook_fast_path(django_application)
