# Two commands for a fresh clone:  `make reproduce`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROFILE ?= quick

.PHONY: reproduce test venv clean-venv

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

venv: $(STAMP)

reproduce: $(STAMP)
	$(VENV)/bin/salkd reproduce --profile $(PROFILE)

test: $(STAMP)
	SALKD_PROFILE=smoke $(PY) -m pytest -q -m "not slow" --durations=20 \
		--nbmake --nbmake-kernel=python3 --nbmake-timeout=900 tests notebooks

clean-venv:
	rm -rf $(VENV)
