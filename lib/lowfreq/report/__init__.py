"""The report layer: what the book's chapters show, made from the cached results below it.

Import the submodules you need (e.g. ``from lowfreq.report import claims``): ``paper`` (the paper's
numbers and groups), ``stats`` (the parabola, group statistics, success curves), ``rows`` (which models,
result rows, gathering), ``claims`` (the paper's claims checked), ``tables`` (Markdown and HTML tables),
``figures`` (matplotlib figures), ``widgets`` (explorers), ``provenance`` (where an output came from),
``neural_analysis`` (S1 Fig D) and ``chapters`` (one call per chapter)."""
