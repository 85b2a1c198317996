"""The process environment Majakka needs, set by each entry point before Haystack or transformers load."""

from __future__ import annotations

import os

DEFAULTS = {
    # Models come from local folders only and nothing phones home.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HAYSTACK_TELEMETRY_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    # numpy's BLAS on one thread: its largest product here is one question against ~2,000 passage vectors (0.16 ms
    # on one thread, 0.5 ms on two), and a second BLAS thread only contends with the encoder's on two cores.
    "OPENBLAS_NUM_THREADS": "1",
}


def configure_environment() -> None:
    """Set the defaults above where the environment does not set them already (call before importing haystack)."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
