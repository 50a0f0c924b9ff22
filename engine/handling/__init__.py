"""Tasks: where they are born (dispatch in batches), the state machine that is the only writer of a task's
status, their ladder of timeline steps, urgency and evidence."""
