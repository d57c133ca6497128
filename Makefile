# KMS workshop kit. `make help` lists the targets; `make lab` and `make test` are all a newcomer needs.
PY       ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
PYTEST   := $(BIN)/python -m pytest
STAMP    := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# A wheelhouse (make wheelhouse) next to the kit, or named by KMS_WORKSHOP_WHEELHOUSE: installs
# then come from it with no network at all.
WHEELHOUSE ?= $(or $(KMS_WORKSHOP_WHEELHOUSE),$(wildcard wheelhouse))
NB_TIMEOUT ?= 120
LAB_PORT ?= 8888
LAB_DIR  ?= notebooks
# nbval: outputs compared exactly against the recorded exchanges; kernels from this venv.
NBVAL    := --nbval --nbval-current-env --nbval-cell-timeout=$(NB_TIMEOUT) --nbval-sanitize-with tests/nbval-sanitize.cfg -p no:cacheprovider

.DEFAULT_GOAL := help
.PHONY: help env env-dev lab wheelhouse test typecheck test-unit test-notebooks test-browser screenshots serve record bench lock reset clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-16s %s\n", $$1, $$2}'

# Install $(1) into the venv from the pinned constraints: with uv when it is on PATH, else uv
# bootstrapped into the venv with pip (one wheel), else plain pip; from the wheelhouse if there is one.
define install
	@src=""; if [ -n "$(WHEELHOUSE)" ]; then src="--no-index --find-links $(WHEELHOUSE)"; \
	  echo "Installing from the wheelhouse $(WHEELHOUSE) (no network)."; fi; \
	if command -v uv >/dev/null 2>&1; then echo "Installing with uv ($$(command -v uv))."; \
	  uv pip install -q --python $(BIN)/python $$src -c constraints.txt $(1); \
	elif test -x $(BIN)/uv || $(BIN)/python -m pip install -q --disable-pip-version-check $$src -c constraints.txt uv >/dev/null 2>&1; then \
	  echo "Installing with uv (in the venv)."; $(BIN)/uv pip install -q --python $(BIN)/python $$src -c constraints.txt $(1); \
	else echo "Installing with pip (uv is not available)."; \
	  $(BIN)/python -m pip install -q --disable-pip-version-check $$src -c constraints.txt $(1); fi
endef

env: $(STAMP) ## create or update the learner's venv (.venv): what the notebooks, helpers and emulator need

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(call install,-e .)
	@touch $@

env-dev: $(DEV_STAMP) ## the learner's venv plus the test and maintainer tools (make test uses it)

$(DEV_STAMP): $(STAMP) tests/clients/secretsmanager-classic.txt
	$(call install,-e '.[dev]')
	$(call install,--no-deps -r tests/clients/secretsmanager-classic.txt)
	@touch $@

wheelhouse: env ## every wheel a learner needs (3.11-3.13; Linux, macOS, Windows) in wheelhouse/, for a room with no Wi-Fi
	$(BIN)/python -m tools.wheelhouse --out wheelhouse

lab: env ## start JupyterLab on notebooks/ with the emulator backend (the same as python -m helpers lab)
	$(BIN)/python -m helpers lab --port $(LAB_PORT) --notebooks $(LAB_DIR)

test: env-dev ## run everything: type check, unit tests, notebooks (replay, then emulator), browser test
	$(BIN)/python -m mypy
	$(PYTEST) tests -q -m "not browser and not server" --ignore=tests/test_hub.py
	$(MAKE) --no-print-directory test-notebooks
	$(MAKE) --no-print-directory test-links
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-server
	$(MAKE) --no-print-directory test-hub

typecheck: env-dev ## mypy over helpers/ (also the first step of make test)
	$(BIN)/python -m mypy

test-unit: env-dev ## only the unit tests
	$(PYTEST) tests -q -m "not browser and not server" --ignore=tests/test_hub.py

test-notebooks: env-dev ## notebooks: strict nbval against replay, then lax against the emulator
	@# recordings are made in cn-hangzhou; a region from the user's shell must not leak into replay
	KMS_WORKSHOP_BACKEND=replay KMS_WORKSHOP_REGION=cn-hangzhou ALIBABA_CLOUD_REGION_ID= $(PYTEST) $(NBVAL) notebooks -q
	KMS_WORKSHOP_BACKEND=emulator KMS_WORKSHOP_STATE=$$(mktemp -d)/state.sqlite \
	  $(PYTEST) --nbval-lax --nbval-current-env --nbval-cell-timeout=$(NB_TIMEOUT) -p no:cacheprovider notebooks -q

test-browser: env-dev ## a learner's run: every notebook in JupyterLab (make lab) in headless Chromium
	@if command -v chromium >/dev/null 2>&1; then \
	  $(PYTEST) tests/test_browser.py tests/test_site.py -q -m browser; \
	elif [ -n "$$CI" ]; then \
	  echo "CI: Debian's chromium is required for the browser test; .ci/run installs it." >&2; exit 1; \
	else \
	  echo "NOT CHECKED: the browser test (every notebook run in JupyterLab in a real browser) needs"; \
	  echo "Chromium. Install it with 'sudo apt-get install chromium', then run 'make test-browser'."; \
	fi

screenshots: env-dev ## refresh the README's screenshots in docs/img/ (needs chromium)
	KMS_WORKSHOP_SCREENSHOTS=docs/img $(PYTEST) tests/test_browser.py tests/test_site.py -q -m browser

SERVE_PORT ?= 8080
serve: env ## run the KMS emulator standalone on 127.0.0.1:$(SERVE_PORT) (SERVE_PORT=0: any free port)
	$(BIN)/python -m helpers serve --port $(SERVE_PORT) --state .kms-workshop/state.sqlite

record: env-dev ## re-record every notebook's cassette (emulator upstream unless cloud credentials are set)
	$(BIN)/python -m tools.record --all

bench: env-dev ## run the benchmarks and print their tables
	$(BIN)/python benchmarks/bench_emulator.py
	$(BIN)/python benchmarks/bench_envelope.py
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/python benchmarks/bench_setup.py

lock: env-dev ## re-pin constraints.txt from what is installed now, keeping the build pins (rewritten only if a pin changed)
	@{ echo "# Pinned versions the workshop was tested with. The Makefile installs with -c constraints.txt."; \
	  echo "# Regenerate: make lock"; $(BIN)/python -m pip freeze --exclude-editable | grep -v -E '^(-e|uv==)'; \
	  grep -E '^(setuptools|wheel|uv)==' constraints.txt || true; } > constraints.txt.new
	@if cmp -s constraints.txt.new constraints.txt; then rm constraints.txt.new; echo "constraints.txt: unchanged"; \
	else mv constraints.txt.new constraints.txt; echo "constraints.txt: updated (review git diff)"; fi

LEARNER_STATE = $${KMS_WORKSHOP_STATE:-$$HOME/.kms-workshop/emulator.sqlite}
reset: ## reset learner state, keep the venv: the emulator's keys, make serve's state, notebooks/work/
	rm -f "$(LEARNER_STATE)" "$(LEARNER_STATE)-wal" "$(LEARNER_STATE)-shm" "$(LEARNER_STATE)-journal" "$(LEARNER_STATE)-accesskey"
	rm -rf .kms-workshop notebooks/work
	@echo "Learner state removed; restart the notebooks' kernels. The venv is kept."

clean: reset ## remove everything the kit wrote: learner state (as reset), the venv, caches, build files
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build *.egg-info constraints.txt.new
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +

# ---- reliability: load, faults, other Pythons --------------------------------------------------
.PHONY: soak test-pythons reliability
PYTHONS ?= 3.11 3.12 3.13
SOAK_CLIENTS ?= 8
SOAK_SECONDS ?= 180

soak: env-dev ## long load run (SOAK_CLIENTS=8 SOAK_SECONDS=180) plus 10 kill -9/restart cycles; loopback only
	$(BIN)/python benchmarks/soak.py --clients $(SOAK_CLIENTS) --seconds $(SOAK_SECONDS)
	$(BIN)/python benchmarks/soak.py --kill-cycles 10

test-pythons: ## the unit suite on Python 3.11, 3.12 and 3.13 (venvs in .venv/pythons/); names any missing interpreter
	@missing=""; failed=""; passed=""; \
	for v in $(PYTHONS); do \
	  py=""; \
	  for c in "python$$v" "$$(pyenv root 2>/dev/null)/versions/$$v"*/bin/python$$v "/usr/bin/python$$v" "/usr/local/bin/python$$v"; do \
	    if "$$c" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$$v'.split('.')))" 2>/dev/null; then py="$$c"; break; fi; \
	  done; \
	  if [ -z "$$py" ]; then echo "MISSING: no Python $$v interpreter (tried python$$v on PATH, pyenv, /usr/bin, /usr/local/bin)"; missing="$$missing $$v"; continue; fi; \
	  echo "== Python $$v: $$py ($$($$py -V))"; \
	  test -x $(VENV)/pythons/$$v/bin/python || $$py -m venv $(VENV)/pythons/$$v || { failed="$$failed $$v"; continue; }; \
	  $(VENV)/pythons/$$v/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' || { failed="$$failed $$v(install)"; continue; }; \
	  if $(VENV)/pythons/$$v/bin/python -m pytest tests -q -m "not browser and not server" --ignore=tests/test_hub.py -p no:cacheprovider; then passed="$$passed $$v"; else failed="$$failed $$v"; fi; \
	done; \
	echo "test-pythons: passed:$${passed:- none}; failed:$${failed:- none}; missing:$${missing:- none}"; \
	test -z "$$failed$$missing"

reliability: env-dev ## regenerate docs/reliability.md from the hostile-input, load, fault and secrets runs (about 3 min)
	$(BIN)/python benchmarks/reliability_report.py --out docs/reliability.md

.PHONY: mutants
mutants: env-dev ## mutation testing of the security modules (tools/mutants.py): writes docs/mutants.json (about 15 min on 2 cores)
	$(BIN)/python -m tools.mutants --jobs 2

# ---- JupyterHub for a room (docs/hub.md) ----------------------------------------------------------
.PHONY: hub hub-env test-hub
HUB_STAMP := $(VENV)/.installed-hub
HUB_USERS ?= hub/learners.txt
HUB_PORT ?= 8000

hub-env: $(HUB_STAMP) hub/node_modules/.package-lock.json ## the learner set plus JupyterHub, and its proxy (npm ci --prefix hub)

$(HUB_STAMP): $(STAMP)
	$(call install,-e '.[hub]')
	@# learners cannot write __pycache__ into this venv: without compiled files every server and
	@# kernel start compiles JupyterLab's imports from source (10 learners at once: minutes, not seconds)
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib helpers >/dev/null
	@touch $@

hub/node_modules/.package-lock.json: hub/package.json hub/package-lock.json
	npm ci --prefix hub --no-audit --no-fund
	@touch $@

hub: hub-env ## JupyterHub on 127.0.0.1:$(HUB_PORT) for the learners in $(HUB_USERS), each on their own emulator (root)
	$(BIN)/python -m helpers hub --port $(HUB_PORT) start --users $(HUB_USERS) --create-users

test-hub: env-dev hub-env ## the hub with two throwaway learners: login, notebooks 01-04 each, isolation (as root)
	@if [ "$$(id -u)" = 0 ]; then $(PYTEST) tests/test_hub.py -q; else \
	  $(PYTEST) tests/test_hub.py -q -k "not room"; \
	  echo "NOT CHECKED: the hub with two learners (system users, logins, their servers, notebooks 01-04,"; \
	  echo "isolation between them) needs root to create users. Run 'sudo make test-hub'."; fi

# ---- the offline site, slides and link checks (docs/site.md) ------------------------------------
.PHONY: site slides test-links linkcheck-external
SITE_OUT ?= build/site

site/node_modules/.package-lock.json: site/package.json site/package-lock.json
	npm ci --prefix site --no-audit --no-fund
	@touch $@

site: env site/node_modules/.package-lock.json ## the notebooks (saved outputs), docs and slides as a static site in $(SITE_OUT), readable offline
	$(BIN)/python -m tools.site --out $(SITE_OUT)

slides: env site/node_modules/.package-lock.json ## only $(SITE_OUT)/slides.html: each notebook's overview and summary (reveal.js, offline)
	$(BIN)/python -m tools.site --out $(SITE_OUT) --slides

test-links: env ## every internal link in README.md, docs/*.md and the notebooks lands (files and #anchors)
	$(BIN)/python -m tools.links

linkcheck-external: env ## report the status of every external link (never fails; says so when there is no network)
	$(BIN)/python -m tools.links --external

# ---- the server recipe (docs/server.md) -------------------------------------------------------
.PHONY: test-server
test-server: env-dev ## docs/server.md's systemd recipe run with Debian's nginx: key decrypted, served over HTTPS, removed (as root)
	@# Debian puts nginx in /usr/sbin, which is not on a normal user's PATH
	@if command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; then \
	  if [ "$$(id -u)" = 0 ]; then $(PYTEST) tests/test_server_nginx.py -q -m server; \
	  else echo "NOT CHECKED: the server recipe runs nginx as root, as nginx.service does. Run 'sudo make test-server'."; fi; \
	elif [ -n "$$CI" ]; then \
	  echo "CI: Debian's nginx is required for the server test; .ci/run installs it." >&2; exit 1; \
	else \
	  echo "NOT CHECKED: the server recipe (docs/server.md: nginx started by systemd with a key decrypted"; \
	  echo "by KMS) needs Debian's nginx. Install it with 'sudo apt-get install nginx', then run 'make test-server'."; \
	fi
