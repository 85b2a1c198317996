"""Majakka's core library: settings, models, the store, retrieval and answers."""

import os

# Models come from local folders only and nothing phones home: set before Haystack or transformers load.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# numpy's BLAS on one thread: its largest product here is one question against ~2,000 passage vectors (0.16 ms on
# one thread, 0.5 ms on two), and a second BLAS thread only contends with the encoder's on a two-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
