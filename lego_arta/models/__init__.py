"""Models used by tests, examples and smoke runs (nothing here is downloaded from the Hub)."""
