"""Log output for every process: JSON lines (CIVICRULES_LOG_FORMAT=json) or plain text (the default).

Each record carries the request id and event id of the work it belongs to when there is one: the
web sets them per request, a job per event, through context variables that this filter reads, so
code that logs never has to pass them along.
"""
from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from engine.core.config import load_settings

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
event_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("event_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"
_HANDLER_NAME = "civicrules"


class ContextFilter(logging.Filter):
    """Adds request_id and event_id (from the context, unless the call passed them) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        if getattr(record, "event_id", None) is None:
            record.event_id = event_id.get()
        parts = [f"request={record.request_id}" if record.request_id else "",
                 f"event={record.event_id}" if record.event_id is not None else ""]
        record.context = "".join(f" [{p}]" for p in parts if p)
        return True


class JsonLines(JsonFormatter):
    """python-json-logger's formatter, leaving out the context fields that are empty."""

    def __init__(self) -> None:
        super().__init__(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"}, timestamp="time")

    def add_fields(self, log_record, record, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.pop("context", None)
        for name in ("request_id", "event_id"):
            if log_record.get(name) is None:
                log_record.pop(name, None)


def log_format() -> str:
    return load_settings().logging.format


def log_level(default: int = logging.INFO) -> int:
    """CIVICRULES_LOG_LEVEL (DEBUG, INFO, WARNING, ...); WARNING drops the per-request lines."""
    chosen = logging.getLevelName(load_settings().logging.level or default)
    return chosen if isinstance(chosen, int) else default


def configure_logging(level: int | None = None, fmt: str | None = None, stream=None) -> None:
    """Install one handler on the root logger (idempotent: a second call replaces it)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonLines() if (fmt or log_format()) == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level if level is not None else log_level())
    logging.getLogger("alembic").setLevel(logging.WARNING)
