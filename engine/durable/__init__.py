"""The only place durable_rules is loaded: the evaluator (one Host per process, stateless per event) and the
compile check that registers a ruleset in a child process, so a web process never loads the C engine."""
