"""The ASGI application ``make demo`` and the container serve (gunicorn with uvicorn workers): the
storefront's pages run as under a threaded WSGI server, and chat replies stream on the event loop
(``chatbot.asgi``)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")

from chatbot.asgi import asgi_application  # noqa: E402 - the settings module is named first

application = asgi_application()
