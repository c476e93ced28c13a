# lowfreq: make targets.  `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TIER ?= cpu
CHAPTER ?=
# Set SLOW=1 to include tests marked slow (CI does).
SLOW ?=
PIN_HASH := $(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-12)
# The stamp also names this checkout: a venv shared by several checkouts (CI keeps one per pin set)
# must point its editable lowfreq install at the checkout being used.
CHECKOUT_HASH := $(shell echo "$(CURDIR)" | sha256sum | cut -c1-8)
STAMP := $(VENV)/.lowfreq-pins-$(PIN_HASH)-$(CHECKOUT_HASH)

.PHONY: help setup test data

help:
	@echo "make setup                  create $(VENV) with the pinned stack (seconds when pins are unchanged)"
	@echo "make test [SLOW=1]          the layer contracts (lint-imports), then the offline CPU test suite (SLOW=1 adds the slow tests, as CI does)"
	@echo "make data [ARCHIVES='a.tgz b.tgz']  download CIFAR-10 and Imagenette (needs a network), or import local CIFAR-10 archives"
	@echo "make execute [TIER=smoke|cpu|full] [CHAPTER=name]  run the book's chapters with papermill"
	@echo "make book [TIER=...]        build the HTML book from executed chapters"
	@echo "make book-browser [TIER=...]  build the book, then open every page in headless Chromium (tests/test_book_browser.py)"
	@echo "make wheels                 download the wheels the GPU lease lacks into .whl/ (tools/device_full.sh)"
	@echo "make lab [LAB_PORT=8888]    the chapters as live notebooks in JupyterLab (project kernel, jupytext); prints the URL"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.lowfreq-pins-*
	@touch $@
	@echo "setup: $(VENV) ready (pins $(PIN_HASH))"

test: setup
	cd $(CURDIR) && $(VENV)/bin/lint-imports
	$(PY) -m pytest -q --durations=15 $(if $(SLOW),,-m "not slow")

# With a network: CIFAR-10 and Imagenette (at IMAGENETTE_SIZE px) downloaded with checksums. Offline:
# make data ARCHIVES="cifar10-jpeg.tgz cifar10-exact.tgz" imports CIFAR-10 archives (Imagenette:
# python -m lowfreq data import imagenette ARCHIVE --size 64).
IMAGENETTE_SIZE ?= 64
data: setup
ifeq ($(strip $(ARCHIVES)),)
	$(PY) -m lowfreq data get cifar10
	$(PY) -m lowfreq data download imagenette --size $(IMAGENETTE_SIZE)
else
	$(PY) -m lowfreq data get cifar10 $(ARCHIVES)
endif

include book.mk

# `make lab`: JupyterLab on the checkout (so jupytext.toml applies), opened on book/. Installs the
# project's kernel spec into the venv ("lowfreq (.venv)", importing this checkout's lib/) and makes
# "Jupytext Notebook" the default viewer of Markdown/MyST files there, so book/*.md open as notebooks.
LAB_PORT ?= 8888
.PHONY: lab
lab: setup
	@$(PY) -m ipykernel install --sys-prefix --name lowfreq --display-name "lowfreq (.venv)" --env PYTHONPATH "$(CURDIR)/lib" >/dev/null
	@$(VENV)/bin/jupytext-config --settings-file "$(VENV)/etc/jupyter/labconfig/default_setting_overrides.json" set-default-viewer markdown myst
	@echo "make lab: JupyterLab on http://127.0.0.1:$(LAB_PORT)/lab/tree/book (the URL with its token follows; Ctrl-C twice stops it)"
	PYTHONPATH="$(CURDIR)/lib$${PYTHONPATH:+:$$PYTHONPATH}" $(VENV)/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 \
	  --ServerApp.port=$(LAB_PORT) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/book $(if $(filter 0,$(shell id -u)),--allow-root)

# The wheels the GPU lease's Python 3.12 lacks (tools/device_full.sh installs them there, offline):
# foolbox and what it needs beyond that machine's packages, and imagecorruptions. Into .whl/ (git-ignored).
WHEEL_PINS := foolbox==3.3.4 eagerpy==0.30.0 GitPython==3.1.45 gitdb==4.0.12 smmap==5.0.2 imagecorruptions==1.1.2
.PHONY: wheels
wheels: setup
	@mkdir -p .whl
	$(PY) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  --platform any -d .whl $(WHEEL_PINS)
	@ls -1 .whl
