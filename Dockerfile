# syntax=docker/dockerfile:1
# The demo storefront (shop_site) with the chat app, served by gunicorn with uvicorn workers (ASGI, as
# `make demo`).
#
#   docker build -t shop-chatbot .
#   docker run --rm --env-file .env shop-chatbot python manage.py migrate       # release step
#   docker run -d -p 8000:8000 --env-file .env shop-chatbot                     # web + task worker
#
# Background work is queued in the database; the start command runs its worker (manage.py db_worker)
# beside the web server (shop_site/gunicorn.py). To scale them apart, give the web containers
# RUN_TASK_WORKER=0 and run workers as `shop-chatbot python manage.py db_worker`.
#
# Two stages: the builder makes the wheel and the virtualenv; the runtime image gets the virtualenv and
# the site, no build tools. bench/docker_steps.py runs these same steps without Docker (the test suite
# does too) and measures the result; see docs/deploying.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: wheel + virtualenv -------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
RUN --mount=type=cache,target=/root/.cache/pip python -m pip install "uv>=0.5,<1"
WORKDIR /src
COPY pyproject.toml MANIFEST.in README.md CHANGELOG.md ./
COPY chatbot ./chatbot
RUN --mount=type=cache,target=/root/.cache/uv uv build --wheel --out-dir /dist
# Same path in both stages: a virtualenv's scripts name their interpreter by absolute path.
RUN python -m venv --without-pip /opt/venv
RUN --mount=type=cache,target=/root/.cache/uv uv pip install --python /opt/venv/bin/python "$(ls /dist/*.whl)[demo]"
# The site offers English and Simplified Chinese (LANGUAGES in shop_site/settings.py): other languages'
# catalogues, Babel locale data and Faker locales (Oscar depends on factory-boy), and phonenumbers'
# geocoder and carrier data (never used) stay out of the image. Name more locales in KEEP_LOCALES
# (Django's names) when the site offers more languages; a locale is kept with its whole language.
ARG KEEP_LOCALES="en_GB zh_Hans"
RUN cd /opt/venv/lib/python3.11/site-packages \
    && rm -rf phonenumbers/geodata phonenumbers/carrierdata phonenumbers/tzdata \
    && languages=" root $(for locale in $KEEP_LOCALES; do printf '%s ' "${locale%%_*}"; done)" \
    && for path in $(find . -path '*/locale/*' -prune -type d) faker/providers/*/[a-z]*/ babel/locale-data/*.dat; do \
         name=$(basename "$path" .dat); \
         case "$languages" in *" ${name%%_*} "*) ;; *) rm -rf "$path" ;; esac; \
       done

# ---- runtime ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=shop_site.settings \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    DATABASE_URL=sqlite:////app/data/db.sqlite3 \
    SECRET_KEY_FILE=/app/data/secret_key \
    MEDIA_ROOT=/app/data/media \
    STATIC_ROOT=/app/staticfiles
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home chatbot
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY manage.py ./
COPY shop_site ./shop_site
COPY templates ./templates
COPY static ./static
# Static files are collected (and compressed by WhiteNoise) once, at build time, as root: read-only later.
# Vendor source maps are for developer tools only and are not served. Running the system checks as root
# leaves bytecode for the modules the server imports at start (the non-root server cannot write it)
# without compiling the whole virtualenv. The build needs a SECRET_KEY but must not keep one: a key made
# here would be in every copy of the image. Without SECRET_KEY at run time, the first start generates
# one in the data volume (SECRET_KEY_FILE).
RUN export SECRET_KEY=build-time-only-never-used-to-serve \
    && python manage.py collectstatic --noinput --verbosity 0 \
    && find /app/staticfiles -name "*.map" -o -name "*.map.gz" | xargs rm -f \
    && python manage.py check
# The only place the server writes: SQLite (when DATABASE_URL is not set to Postgres) and uploads.
RUN mkdir -p /app/data/media && chown -R chatbot:chatbot /app/data
VOLUME ["/app/data"]
USER 10001:10001
EXPOSE 8000
# gunicorn binds 0.0.0.0:$PORT and starts $WEB_CONCURRENCY workers when no --bind/--workers is given;
# the options are `make demo`'s. exec: gunicorn is PID 1 and gets `docker stop`'s SIGTERM, and stops the
# task worker it started.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/api/chatbot/health' % os.environ['PORT'], timeout=4)"]
CMD ["/bin/sh", "-c", "exec gunicorn shop_site.asgi:application --config python:shop_site.gunicorn --worker-class uvicorn_worker.UvicornWorker --access-logfile -"]
