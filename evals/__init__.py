"""Evaluation and benchmarks: retrieval and answer quality, speed and memory (they use kb, ingest and api)."""
