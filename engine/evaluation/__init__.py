"""From stored events to tasks: claim a batch under a lease, enrich it with facts, one evaluate-and-decide
step (shared with the simulator and replay), and record firings and dispatched tasks in one transaction."""
