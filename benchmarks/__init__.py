"""The project's benchmarks: scripts that measure and write ``results/*.{md,json}``, run from the repository root as
``python -m benchmarks.<name>`` (e.g. ``python -m benchmarks.quality_table --round 3``).

Shared pieces (command line, number formatting, Markdown tables and templates, bootstrap intervals from
:mod:`maskdepth.evaluate.metrics`, run budgets, atomic JSON + Markdown writing): :mod:`benchmarks.common`.
Long Markdown prose of the pages: ``benchmarks/templates/*.md``, filled with :meth:`str.format`."""
