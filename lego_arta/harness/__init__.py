"""Evaluation harness adapters: the lmms-eval task hooks and a runner that checks what it produced."""
