"""The ground floor every context stands on: the models, sessions, settings, the injectable clock, task and
event states, the working-time calendar, logging and the outbox row constructor. It imports no other context."""
