# The book's make targets. The Makefile includes this file (`include book.mk`) and provides PY,
# TIER (smoke | cpu | full), CHAPTER and the `setup` target. The work is done by tools/book.py.
#
#   make execute [TIER=..] [CHAPTER=name[,name]] [FORCE=1] [CLUSTER=slurm|local CLUSTER_ARGS="--slurm-partition gpu"]
#        run the chapters (book/*.md) with papermill into book/_executed/<tier>/; only chapters whose
#        source, tier or library source (lib/lowfreq/**.py) changed are run again (FORCE=1: all)
#   make book [TIER=..]       execute what is missing or stale, then build the HTML with
#                             `jupyter-book build -W`: _build/<tier>/_build/html (_build/html links to it)
#   make book-status [TIER=..]   which chapters are stale, and why
#   make book-vendor          fetch MathJax 3, require.js and the widget manager from npm (cached in _vendor/)
#   make book-serve [PORT=8000]  serve _build/html on http://127.0.0.1:$(PORT)/ (the Fig 3 live explorer
#                             needs http://: its WebAssembly runtime does not load from file://)
#   make book-onnx [TIER=..]  export the live explorer's models to ONNX from the weights here (each checked
#                             against its PyTorch model; only the instance the committed results belong to)
#                             and store them with its shipped image pairs under results/<tier>/figure_inputs/
#   make clean-book           remove the built HTML (_build/<tier>/, _build/html)
#   make clean-executed       remove the executed notebooks (book/_executed/)
#   make test-book [SLOW=1]   tests/test_book.py and tests/test_book_browser.py (SLOW=1 adds the end-to-end and
#                             browser tests, on the smoke book they build once)
#   make book-browser [TIER=..]  build the book, then open every page in headless Chromium (tests/test_book_browser.py:
#                             no console error, no raw LaTeX, Table B's height, the scorecard and the verdict boxes)
#   make book-screenshots [TIER=..]  PNGs of the built book's landing page and a chapter's top in docs/screenshots/

BOOK_TOOL := $(PY) tools/book.py
FORCE ?=
PORT ?= 8000

.PHONY: execute book book-status book-vendor book-serve book-onnx clean-book clean-executed test-book book-browser \
	book-screenshots

# CLUSTER=slurm|local: first compute the tier's zoo as one submitit job per model (results on a shared
# filesystem: set LOWFREQ_RESULTS_DIR / LOWFREQ_MODEL_DIR / LOWFREQ_DATA_DIR there), then run the chapters.
CLUSTER ?=
CLUSTER_ARGS ?=
execute: setup
	$(if $(CLUSTER),$(PY) -m lowfreq zoo probe --tier $(TIER) --cluster $(CLUSTER) $(CLUSTER_ARGS))
	$(BOOK_TOOL) execute --tier $(TIER) $(if $(CHAPTER),--chapter $(CHAPTER)) $(if $(FORCE),--force)

book: setup
	$(BOOK_TOOL) build --tier $(TIER)

book-status: setup
	$(BOOK_TOOL) status --tier $(TIER)

book-vendor: setup
	$(BOOK_TOOL) vendor

book-serve:
	@test -e _build/html || { echo "no _build/html yet: run make book"; exit 1; }
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

book-onnx: setup
	$(PY) -c "from lowfreq.experiments.onnx_export import export_tier; export_tier('$(TIER)')"

clean-book:
	rm -rf _build/smoke _build/cpu _build/full _build/html

clean-executed:
	rm -rf book/_executed

test-book: setup
	$(PY) -m pytest -q tests/test_book.py tests/test_book_browser.py $(if $(SLOW),,-m "not slow")

book-browser: book
	LOWFREQ_BOOK_HTML="$(CURDIR)/_build/$(TIER)/_build/html" $(PY) -m pytest -q -rA tests/test_book_browser.py

book-screenshots: setup
	$(PY) tools/screenshots.py --html _build/$(TIER)/_build/html
