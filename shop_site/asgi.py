"""The ASGI application (``make demo`` and the container serve it with gunicorn's uvicorn workers).

Replies stream on the event loop; the storefront's own pages are synchronous views, which Django runs
in a thread of the request's own. A database connection kept past the end of a request would stay with
that request's context when it is gone, so connections are closed when a request ends (the backend
keeps them for the next request instead: ``shop_site.database``), as Django advises for ASGI.
"""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")
application = get_asgi_application()

for database in settings.DATABASES.values():
    database.setdefault("IDLE_MAX_AGE", database.get("CONN_MAX_AGE", 0))
    database["CONN_MAX_AGE"] = 0
