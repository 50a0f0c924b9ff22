"""The domain, one subpackage per bounded context, from the bottom up: core, durable, accounts, audit,
space, intake, handling, evaluation, authoring, supervision, delivery, assessment. A subpackage imports
only those below it (tests/test_layout.py checks), and nothing here uses Flask: workers, the CLI and
the benchmarks call it with a plain session.
"""
