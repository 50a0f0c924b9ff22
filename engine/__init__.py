"""The domain and its runtime: models, intake, enrichment, evaluation, decisions, tasks, accounts.

No Flask request globals here: workers, the CLI and benchmarks use it with a plain session.
"""
