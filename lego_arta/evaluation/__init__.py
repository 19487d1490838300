"""Evaluation: score answer files, run the weight-free baselines, report beside the study's numbers."""
