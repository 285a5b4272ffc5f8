"""The demo storefront: django-oscar with the chat app plugged in the way a shop would do it.

Everything that differs between machines comes from the environment (django-environ).
"""

from pathlib import Path

import environ
from oscar.defaults import *  # noqa: F403 - Oscar's documented way to get its defaults

from chatbot.conf import settings_from_env
from shop_site.dashboard.access import staff_only, support_chat_label
from shop_site.secret_key import secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# From the environment, or generated on first start and kept in SECRET_KEY_FILE (the container sets
# it inside its data volume); no key is published in the repository.
SECRET_KEY = secret_key(
    env.str("SECRET_KEY", default=""), Path(env.str("SECRET_KEY_FILE", default=str(BASE_DIR / ".secret_key")))
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Served over HTTPS (behind a proxy that terminates TLS and sets X-Forwarded-Proto): set HTTPS=true.
# Off by default so the demo works on http://127.0.0.1; `check --deploy` then names exactly these
# (docs/deploying.md, "Django's deployment checks").
if env.bool("HTTPS", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
    # The health check of the container and of load balancers speaks plain HTTP to the server itself.
    SECURE_REDIRECT_EXEMPT = [r"^api/chatbot/health$"]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool("DB_POOL", default=False):
    # Django's own pool (psycopg_pool), each connection checked as it is handed out; it needs
    # CONN_MAX_AGE=0. Slower than the default below to recover from killed backends (BENCHMARKS.md,
    # "Database connections"), so it is the alternative, not the default.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "pool": {"min_size": 2, "max_size": env.int("DB_MAX_CONNECTIONS", default=30), "timeout": 10},
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Each server thread has its own connection; this bounds them per process (shop_site.database),
    # so workers x threads can exceed PostgreSQL's max_connections. See "Production server" in the README.
    DATABASES["default"]["ENGINE"] = "shop_site.database"
    DATABASES["default"]["MAX_CONNECTIONS"] = env.int("DB_MAX_CONNECTIONS", default=30)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Simultaneous visitors on the embedded default: WAL lets readers run beside the one writer;
    # IMMEDIATE takes the write lock when a transaction begins, so a transaction that reads and then
    # writes (every chat turn) waits its turn instead of failing with "database is locked" when it
    # tries to upgrade; the busy timeout is how long it waits.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
        **DATABASES["default"].get("OPTIONS", {}),
    }

# One cache for every server process: rate limits, the Stream user cache and, with a shared cache,
# sessions. CACHE_URL=redis://127.0.0.1:6379/1 in production; the default is each process's memory.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if not CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # A returning visitor's session is read from the cache, not the database (written to both); with
    # the cache down, from the database alone (see the module).
    SESSION_ENGINE = "shop_site.sessions"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks",
    "haystack",
    "treebeard",
    "sorl.thumbnail",
    "django_tables2",
    "shop_site",
    # The support chat: the one line a shop adds.
    "chatbot",
]

SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]

ROOT_URLCONF = "shop_site.urls"
WSGI_APPLICATION = "shop_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = (
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
)

# Oscar's catalogue pages query Haystack; this engine answers them from the database (see the module).
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "shop_site.catalogue_search.DatabaseEngine"}}
# There is no search index to keep in sync with product saves.
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.BaseSignalProcessor"

LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("zh-hans", "简体中文")]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Django serves MEDIA_ROOT itself (product thumbnails) unless a web server in front does it.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

OSCAR_SHOP_NAME = env.str("SHOP_NAME", default="Maple & Pine")
OSCAR_SHOP_TAGLINE = "Outdoor gear, home goods and tea"
OSCAR_DEFAULT_CURRENCY = "GBP"
OSCAR_ALLOW_ANON_CHECKOUT = True
# The order states customers ask about; each order line follows its order's state.
OSCAR_INITIAL_ORDER_STATUS = OSCAR_INITIAL_LINE_STATUS = "Pending"
OSCAR_ORDER_STATUS_PIPELINE = OSCAR_LINE_STATUS_PIPELINE = {
    "Pending": ("Being processed", "Cancelled"),
    "Being processed": ("Shipped", "Cancelled"),
    "Shipped": ("Complete",),
    "Complete": (),
    "Cancelled": (),
}
OSCAR_ORDER_STATUS_CASCADE = {status: status for status in OSCAR_ORDER_STATUS_PIPELINE}
# The support chat inbox (shop_site.dashboard) in the dashboard's menu, for staff.
OSCAR_DASHBOARD_NAVIGATION = [
    *OSCAR_DASHBOARD_NAVIGATION,  # noqa: F405
    {
        "label": support_chat_label,
        "icon": "fas fa-comments",
        "url_name": "chat-dashboard:inbox",
        "access_fn": staff_only,
    },
]

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="shop@example.com")

CHATBOT = {"SHOP_NAME": OSCAR_SHOP_NAME, **settings_from_env(env.ENVIRON)}

# Background work (Stream replies, staff emails, webhook deliveries and their retries) is queued in the
# database and run by `manage.py db_worker`, which the server's start (shop_site/gunicorn.py) runs beside it.
INSTALLED_APPS.append("django_tasks_db")
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
