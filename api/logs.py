"""Logs that never hold what a person wrote.

- Request logs: one JSON line a request, describing it (id, language, latency, flags), never its text.
- ``RedactFilter`` on every handler of the server: an exception is logged by its type and where it was raised,
  never its message or arguments (a validation error's message quotes the input; a question may be in it).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import traceback
from typing import Any, TextIO

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


def describe_exception(exc: BaseException) -> str:
    """Describe an exception by its type and the places it passed through; no message, argument or value.

    Chained exceptions (``raise … from``, or raised while handling another) are described the same way.
    """
    parts = []
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        places = " <- ".join(f"{_short(f.filename)}:{f.lineno} in {f.name}" for f in reversed(frames))
        parts.append(f"{type(current).__module__}.{type(current).__qualname__}" + (f" at {places}" if places else ""))
        current = current.__cause__ or current.__context__
    return "; caused by ".join(parts)


def _short(filename: str) -> str:
    """Return a source path from the project or site-packages on, not the machine's folders."""
    for marker in ("site-packages" + os.sep, os.sep + "majakka" + os.sep):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return os.path.basename(filename)


class RedactFilter(logging.Filter):
    """Replace a record's exception by its description (``describe_exception``): the type and places only.

    The record's own message stays: our messages never carry request text, and the server's (uvicorn's) carry
    addresses and states. What is dropped is what an exception holds: its message and arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, with any exception described by type and place only."""
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()} [{describe_exception(record.exc_info[1])}]"
            record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def server_log_config() -> dict[str, Any]:
    """Uvicorn's logging set-up with ``RedactFilter`` on every handler, our loggers included.

    The request log (``majakka.requests``) writes JSON lines to stderr; other ``majakka`` loggers and the root
    write as uvicorn does. Configured here, in one ``dictConfig``, because that call resets the handlers of
    every logger below one it names.
    """
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": RedactFilter}}
    config["formatters"]["requests"] = {"()": RequestLogFormatter}
    config["handlers"]["requests"] = {
        "class": "logging.StreamHandler", "formatter": "requests", "stream": "ext://sys.stderr"
    }
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["majakka"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["loggers"][REQUEST_LOGGER] = {"handlers": ["requests"], "level": "INFO", "propagate": False}
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config


def configure_request_log(stream: TextIO = sys.stderr) -> logging.Handler:
    """Write request records to ``stream`` as JSON lines (the server calls this); return the handler."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())
    handler.setFormatter(RequestLogFormatter())
    logger = logging.getLogger(REQUEST_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler
