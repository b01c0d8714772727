# The two commands: `make run` and `make test`. Everything else is a step of theirs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
THREADS ?= 4
FLASK := $(BIN)/flask --app directory

# The suite runs on both cores (pytest-xdist), a test module per worker.
PYTEST := $(BIN)/pytest -n 2 --dist loadfile

.PHONY: run dev test test-tools test-sqlite test-postgres test-fast install install-test browser-tools assets translations extract-messages update-translations db clean bench-lighthouse

run: install translations assets db
	PORT=$(PORT) WORKERS=$(WORKERS) THREADS=$(THREADS) $(BIN)/gunicorn --config gunicorn.conf.py "directory:create_app(serving=True)"

# No fingerprinted copies in development: edits to static/ show at once.
dev: install translations db
	-$(FLASK) digest clean >/dev/null
	$(FLASK) run --debug --host 127.0.0.1 --port $(PORT)

# Both databases, browser tests included; prints the time of each part.
test:
	scripts/run-tests.sh

# What the tests need beyond `make run`: test libraries, Chromium, axe-core.
test-tools: install-test translations assets browser-tools

test-sqlite: test-tools
	$(PYTEST)

test-postgres: test-tools
	scripts/with-postgres.sh $(PYTEST)

# The developer's loop: SQLite, no browser.
test-fast: test-tools
	$(PYTEST) -m "not browser"

browser-tools:
	scripts/install-browser-tools.sh

# Serving needs only the package; the test libraries come with install-test.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# Fingerprinted, pre-compressed copies of static/ (build output, git-ignored).
assets: install
	$(FLASK) digest compile >/dev/null

# Compiled catalogues (.mo) are build output, never committed.
translations: install
	$(BIN)/pybabel compile -d translations

extract-messages: install
	$(BIN)/pybabel extract -F translations/babel.cfg -k _l -k lazy_ngettext:1,2 \
		--project "border-social-directory" --no-location --sort-output \
		-o translations/messages.pot .

update-translations: extract-messages
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete --width 0
	$(BIN)/python scripts/fill_english.py

# Lighthouse (npm, installed into bench/lighthouse/ on first use) in Chromium,
# mobile: the home page, a search and a centre page in every language, each
# the median of LIGHTHOUSE_RUNS runs; exits 1 under LIGHTHOUSE_TARGET. Some
# minutes; not part of `make test`.
LIGHTHOUSE_TARGET ?= 95
LIGHTHOUSE_RUNS ?= 3
bench-lighthouse: install translations
	$(BIN)/python bench/lighthouse.py --languages lv lt en ru --runs $(LIGHTHOUSE_RUNS) --target $(LIGHTHOUSE_TARGET)

db: install
	$(FLASK) db upgrade
	$(FLASK) seed --if-empty

clean:
	-$(FLASK) digest clean >/dev/null
	rm -rf $(VENV) .pytest_cache node_modules translations/*/LC_MESSAGES/*.mo
