"""The report layer: what the book's chapters show, made from the cached results below it.

Import the submodules you need (e.g. ``from lowfreq.report import claims``): ``paper`` (the paper's
numbers and groups), ``stats`` (the parabola, group statistics, success curves), ``rows`` (which models,
result rows, gathering), ``claims`` (the paper's claims checked), ``tables`` (Markdown and HTML tables),
``plotting`` (the figure helpers several chapters share), ``widgets`` (explorers, drawn from frames
computed in :mod:`lowfreq.experiments.explorers`), ``provenance`` (where an output came from),
``neural_analysis`` (S1 Fig D), ``common`` (the chapters' shared helpers) and one module per chapter
of the book, named after it (``intro``, ``fig1_schematic``, ``fig2_neural``, ``fig3_hybrid``,
``fig4_spectra``, ``fig5_hybrid_groups``, ``table_b``, ``fig6_imagenet``, ``fig6_imagenet_standin``,
``s1_corruptions``, ``summary``, ``deviations``, ``probe_your_model``): each holds that chapter's
entry function (``fig3_hybrid.fig3_hybrid(tier)``), its dataclass and its figures."""
