"""The project's benchmarks (scripts that measure and write ``results/*.{md,json}``), run from the repository root as
``python -m benchmarks.<name>`` (e.g. ``python -m benchmarks.quality_table --round 3``); shared pieces in
:mod:`benchmarks.common`."""
