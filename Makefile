# Two commands for a fresh clone:  `make reproduce`  and  `make test`;  `make lab` to explore.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROFILE ?= quick
LAB_PORT ?= 8888
NBSTRIP := $(abspath $(VENV))/bin/nbstripout
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: reproduce test test-browser lab venv nb-filter browser-deps clean-venv

# The venv target: created if missing; torch is installed first, pinned (a bare `torch`
# requirement would pull a multi-GB CUDA build), then the package with its dev extra.
$(VENV):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (salkd)" > /dev/null
	touch $(STAMP)

venv: $(STAMP) nb-filter

# Notebooks opened in JupyterLab save their outputs into notebooks/*.ipynb; git sees them through the
# nbstripout filter (.gitattributes), so outputs never reach a commit. Set up in every clone by `make`.
nb-filter: $(STAMP)
	@if git rev-parse --git-dir > /dev/null 2>&1; then \
		git config filter.nbstripout.clean "'$(NBSTRIP)' --keep-id"; \
		git config filter.nbstripout.smudge cat; \
		git config diff.ipynb.textconv "'$(NBSTRIP)' --keep-id -t"; \
	fi

# The quick run refreshes the committed figures/; every other run writes runs/<profile>/figures.
reproduce: venv
	$(VENV)/bin/salkd reproduce --profile $(PROFILE) $(if $(filter quick,$(PROFILE)),--refresh-figures,)

# JupyterLab on the project's venv and kernel, on 127.0.0.1 with a token (printed with the URL).
lab: venv
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir=$(CURDIR) $(ROOT_FLAG) notebooks/10_explore.ipynb

# Debian's chromium + chromium-driver for the browser test (no browser download at run time).
browser-deps:
	@if command -v chromium > /dev/null && command -v chromedriver > /dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		echo "installing Debian's chromium and chromium-driver for the browser test"; \
		apt-get install -y -qq chromium chromium-driver > /dev/null 2>&1 || \
		(apt-get update -qq > /dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver > /dev/null); \
	else echo "chromium/chromedriver missing: install Debian's chromium and chromium-driver (the browser test is skipped)"; fi

test: venv browser-deps
	SALKD_PROFILE=smoke $(PY) -m pytest -q -m "not slow" --durations=20 \
		--nbmake --nbmake-kernel=python3 --nbmake-timeout=900 tests notebooks

test-browser: venv browser-deps
	SALKD_PROFILE=smoke $(PY) -m pytest -q -m browser tests/test_browser.py

clean-venv:
	rm -rf $(VENV)
