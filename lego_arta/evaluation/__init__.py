"""Evaluation: score answer files, run the weight-free baselines, report beside the study's numbers.

- :mod:`~lego_arta.evaluation.scoring` — ``score_predictions(task, predictions, data)``: join
  answers to a built split by id (gaps counted), metrics with bootstrap intervals, per-sample log.
- :mod:`~lego_arta.evaluation.baselines` — ``evaluate_baselines(data, runs_dir)``: always-yes/no,
  random, centre box, colour detector, TF-IDF nearest train instruction.
- :mod:`~lego_arta.evaluation.compare` — ``compare_runs(a, b, data)``: two runs on one split, per-metric
  gap with an interval and a permutation p-value, both resampling manuals.
- :mod:`~lego_arta.evaluation.report` — ``write_report(rows, out)``: Markdown tables and PNG charts.
- :mod:`~lego_arta.evaluation.results` — result rows from our files, lmms-eval results JSONs and
  the study's published tables (package data).
- :mod:`~lego_arta.evaluation.built_splits` — a built split's columns straight from its Parquet files.

Submodules are imported on use: the CLI loads only the one it runs.
"""
