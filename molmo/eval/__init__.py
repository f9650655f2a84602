"""Evaluation: benchmark tasks, metrics, the two-stage runner and the HTML report.

- ``metrics``      pure Python/numpy/scipy metric functions and their registry (no torch)
- ``tasks``        the task registry: per benchmark family, the data it reads (official JSON, HF
                   parquet or shards), prompt style, generation length, crops and metrics
- ``suite``        ``molmo eval`` arguments + an eval recipe -> an :class:`~molmo.eval.suite.EvalPlan`
- ``inference``    batched greedy generation for eval items
- ``predictions``  ``predictions.jsonl`` (resume keys, append/flush, rank-file merge, atomic writes)
- ``scoring``      the metric stage (also ``--predictions FILE`` alone) -> ``results.json``
- ``report``       ``report.html``
- ``runner``       ``run_eval``: both stages, resumable, one shard of the samples per torchrun rank
"""
