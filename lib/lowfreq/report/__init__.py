"""The report layer: result rows, statistics, the paper's claims and numbers, figures, tables and
widgets of the book. Import the submodules you need (e.g. ``from lowfreq.report import claims``)."""
