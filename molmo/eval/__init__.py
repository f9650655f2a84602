"""Evaluation: benchmark metrics (``molmo.eval.metrics``), tasks, runner and reports.

The metric functions are pure Python/numpy/scipy (no torch), one concept per module under
``molmo.eval.metrics``; ``molmo.eval.metrics.registry`` maps metric names to functions and to the
public implementation each one reproduces.
"""
