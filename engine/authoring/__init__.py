"""What administrators change: lists and rules saved to the draft with edit stamps, publishing and rollback,
versions and their differences, task templates, the simulator, replay and the demo pack."""
