"""Majakka's HTTP API and the embeddable widget."""

import kb  # noqa: F401  # sets the offline and no-telemetry environment before any module here loads Haystack
