"""Structured request logs: one JSON line a request, describing it (id, language, latency, flags), never its text."""

from __future__ import annotations

import json
import logging
import sys
from typing import TextIO

REQUEST_LOGGER = "majakka.requests"
# What a request record may carry (passed as ``extra``); anything else on a record is left out of the line.
FIELDS = (
    "request_id",
    "language",
    "audience",
    "latency_ms",
    "answer_kind",
    "urgent",
    "urgency",
    "indicators",
    "abstained",
    "turns",
    "citations",
    "results",
    "k",
    "help_only",
)


class RequestLogFormatter(logging.Formatter):
    """Format a request record as one JSON object: time, event and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line (the message is the event name, e.g. ``ask``)."""
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "event": record.getMessage()}
        line.update({name: record.__dict__[name] for name in FIELDS if name in record.__dict__})
        return json.dumps(line, ensure_ascii=False)


def configure_request_log(stream: TextIO = sys.stderr) -> logging.Handler:
    """Write request records to ``stream`` as JSON lines (the server calls this); return the handler."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RequestLogFormatter())
    logger = logging.getLogger(REQUEST_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler
