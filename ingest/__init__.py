"""Loading documents of many formats and splitting them into passages."""

import kb  # noqa: F401  # sets the offline and no-telemetry environment before any module here loads Haystack
