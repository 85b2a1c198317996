"""Errors raised by Majakka's library, each with a message that says what to do.

KbError
├── ConfigError      a setting is missing or invalid
├── ModelError       the embedding model cannot be installed or loaded
├── StoreError       the vector store is unavailable, locked or inconsistent
│   └── StoreLockedError   the embedded Qdrant folder is used by another process
├── IngestError      ingestion could not complete (the served index is left as it was)
└── LoaderError      one file could not be read (reported and skipped by ingestion)
"""

from __future__ import annotations


class KbError(Exception):
    """Base class of every error Majakka reports to a person."""


class ConfigError(KbError):
    """A setting is missing or invalid."""


class ModelError(KbError):
    """The embedding model cannot be installed or loaded."""


class StoreError(KbError):
    """The vector store is unavailable, locked or inconsistent."""


class StoreLockedError(StoreError):
    """The embedded Qdrant folder is in use by another process."""


class IngestError(KbError):
    """Ingestion could not complete; the served index is unchanged."""


class LoaderError(KbError):
    """One file could not be read."""
