# The two commands the README promises: `make demo` and `make test`, both from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
WEB_CONCURRENCY ?= 2
export DJANGO_SETTINGS_MODULE ?= shop_site.settings

.PHONY: install demo serve test lint browser bench clean widget widget-stream js-test matrix

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[demo,test]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_shop
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "Storefront on http://127.0.0.1:$(PORT)/  (staff: admin / admin on /admin/)"
	@# The server starts the task worker (manage.py db_worker) beside itself and stops it with it.
	@# ASGI: replies stream on each worker's event loop (docs/deploying.md has the WSGI option).
	$(BIN)/gunicorn shop_site.asgi:application --config python:shop_site.gunicorn --bind 0.0.0.0:$(PORT) \
		--worker-class uvicorn_worker.UvicornWorker --workers $(WEB_CONCURRENCY) --access-logfile -

# The chat window (chatbot/static/chatbot/chat.js), bundled from the ES modules in frontend/widget/src/
# and frontend/shared/ into the one committed file loader.js fetches, so installing the app needs no
# Node. Rebuild after changing frontend/widget/ or frontend/shared/ (then `widget-stream` too).
widget:
	cd frontend/widget && npm ci --no-audit --no-fund && npm test && npm run build

# The stream-mode widget client: the Stream JS SDK bundled into one committed file, so installing the
# app needs no Node. Rebuild after changing frontend/stream/ or upgrading stream-chat.
widget-stream:
	cd frontend/stream && npm ci --no-audit --no-fund && npm test && npm run build

# Chromium drives the widget tests; Debian's package, never a browser downloaded by a test tool.
browser:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests" >&2; exit 1; fi; }

lint: install
	$(BIN)/ruff check chatbot shop_site tests bench manage.py noxfile.py
	$(BIN)/ruff format --check chatbot shop_site tests bench manage.py noxfile.py
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/mypy

# The widget's SSE reader and markdown renderer and the stream transport's logic, under Node's own test
# runner on the source modules (no npm packages needed).
js-test:
	node --test frontend/stream/test/ frontend/widget/test/

test: install browser lint js-test
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python -m pytest $(PYTEST_ARGS)

# The app's own tests (no demo shop) on each Django version it supports, each in its own virtualenv
# from PyPI (noxfile.py); Django 6.x runs where a Python 3.12+ is installed and is skipped, saying why,
# where not. Not part of `make test`: it installs several virtualenvs and runs the suite once per version.
matrix: install
	$(BIN)/nox $(NOX_ARGS)

bench: install
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) .nox build dist *.egg-info staticfiles
