"""Settings: the only reader of the environment (``KB_*`` variables, nested with ``__``)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from kb.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class EmbeddingSettings(BaseModel):
    """The dense embedding model."""

    model: str | None = Field(
        default=None,
        description="Path of a local sentence-transformers model; empty: the bundled multilingual-e5-small "
        "converted by `kb model install` into <data dir>/models.",
    )
    query_prefix: str = Field(default="query: ", description="Prefix put before questions (e5 convention).")
    passage_prefix: str = Field(default="passage: ", description="Prefix put before passages (e5 convention).")
    batch_size: int = Field(default=16, ge=1, le=256, description="Passages embedded per batch at ingest.")
    passage_precision: Literal["auto", "bfloat16", "float32"] = Field(
        default="auto",
        description="Number format of the passage encoder at ingest: `bfloat16` (the encoder runs about 2.7x faster "
        "where the CPU has bfloat16 instructions; vectors at cosine > 0.99 to float32), `float32`, or `auto` "
        "(bfloat16 when the CPU has those instructions).",
    )
    query_backend: Literal["onnx", "torch"] = Field(
        default="onnx", description="Question encoder: `onnx` (int8, made by `kb model install`) or `torch`."
    )
    query_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Threads that encode questions in parallel, each a micro-batch of concurrent questions (ONNX; "
        "the torch encoder always uses one).",
    )
    query_batch: int = Field(
        default=4, ge=1, le=64, description="Most questions one encoder thread takes into one micro-batch."
    )
    query_threads: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Threads the ONNX question encoder uses per call (0: one per core). On two cores one thread "
        "answers a lone question as fast and leaves the other core to the rest of the server.",
    )


class QdrantSettings(BaseModel):
    """Where the vectors live."""

    url: str | None = Field(default=None, description="Qdrant server or cluster URL; empty: embedded Qdrant.")
    api_key: str | None = Field(default=None, description="API key for the Qdrant server.")
    collection: str = Field(default="majakka", description="Name (an alias) of the served collection.")
    timeout: int = Field(default=10, ge=1, description="Seconds to wait for the Qdrant server.")


class ChunkingSettings(BaseModel):
    """How documents are split into passages."""

    min_words: int = Field(default=60, ge=1, description="Passages shorter than this are merged with a neighbour.")
    max_words: int = Field(default=250, ge=10, description="Upper bound of words in one passage.")
    max_tokens: int = Field(default=400, ge=32, le=500, description="Upper bound of model tokens in one passage.")
    overlap_sentences: int = Field(default=1, ge=0, le=3, description="Sentences repeated between passages.")
    max_file_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1, description="Files larger than this are reported and skipped at ingest."
    )


class RetrievalSettings(BaseModel):
    """Hybrid retrieval and its fusion."""

    top_k: int = Field(default=5, ge=1, le=50, description="Passages returned by default.")
    candidates: int = Field(default=40, ge=5, le=200, description="Candidates taken from each side before fusion.")
    fusion: Literal["convex", "rrf"] = Field(
        default="rrf",
        description="How the dense and BM25 lists are fused: `rrf` (weighted reciprocal rank fusion) or `convex` "
        "(standardised scores, the dense share following BM25's confidence in the question: better on FAQ-like "
        "sets, worse on statutes asked across languages; see README, Measuring).",
    )
    dense_share: float = Field(
        default=0.7, ge=0, le=1, description="Convex fusion: the dense side's share when BM25's best passage does "
        "not stand out."
    )
    gap_shift: float = Field(
        default=0.4, ge=0, le=1, description="Convex fusion: how much of the share moves to BM25 as its best "
        "passage stands out ((s1 - s2) / s1)."
    )
    rrf_k: int = Field(
        default=60, ge=1, description="Reciprocal rank fusion constant (also the scale of every fused score)."
    )
    dense_weight: float = Field(default=1.0, ge=0, description="RRF fusion: weight of the dense side.")
    sparse_weight: float = Field(default=2.0, ge=0, description="RRF fusion: weight of the sparse (BM25) side.")
    backend: Literal["auto", "memory", "qdrant"] = Field(
        default="auto",
        description="Search a snapshot of the served collection held in memory (`memory`), or query Qdrant on "
        "every request (`qdrant`); `auto`: memory for embedded Qdrant, qdrant for a server.",
    )


class CacheSettings(BaseModel):
    """Caches of question embeddings, search results and answers (process memory only, keyed by digests)."""

    size: int = Field(default=2048, ge=0, description="Entries per cache; 0 turns caching off.")
    ttl: float = Field(default=600.0, gt=0, description="Seconds an entry lives.")


class ApiSettings(BaseModel):
    """The HTTP server."""

    host: str = Field(default="127.0.0.1", description="Address `kb serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `kb serve` listens on.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to call the API (CORS).")
    admin_token: str | None = Field(
        default=None, description="Bearer token of the admin API; empty: the admin API is off."
    )
    max_body_bytes: int = Field(default=16_384, ge=1024, description="Largest request body accepted (larger: 413).")
    rate: float = Field(default=5.0, gt=0, description="Requests per second allowed per client, on average.")
    burst: int = Field(default=30, ge=1, description="Requests a client may send at once before the rate applies.")
    frame_ancestors: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Sites that may show / and /embed in an iframe (CSP frame-ancestors, JSON list; [] for none).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the proxies whose X-Forwarded-For is believed (JSON list).",
    )
    admin_failures: int = Field(
        default=5, ge=1, description="Wrong admin tokens a client may send before it waits (one more a minute)."
    )
    feedback_rows: int = Field(default=50_000, ge=1, description="Ratings kept; the oldest go first.")
    header_timeout: float = Field(default=10.0, gt=0, description="Seconds a request's line and headers may take.")
    body_timeout: float = Field(default=30.0, gt=0, description="Seconds a request's body may take after its headers.")
    max_header_bytes: int = Field(default=16_384, ge=1024, description="Largest request line and headers (else 431).")
    max_headers: int = Field(default=100, ge=10, description="Most headers a request may have (else 431).")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an address or network (e.g. 10.0.0.5 or 10.0.0.0/24)") from None
        return value


class Settings(BaseSettings):
    """All of Majakka's settings."""

    model_config = SettingsConfigDict(env_prefix="KB_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        description="Where the index, model and feedback are kept (a relative path: from the current folder).",
    )
    sources: list[Path] = Field(
        default_factory=lambda: [PROJECT_ROOT / "corpus" / "guides", PROJECT_ROOT.parent / "shared" / "sources"],
        description="Folders ingested by `kb ingest` without arguments (JSON list).",
    )
    contacts: Path = Field(
        default=PROJECT_ROOT / "corpus" / "contacts.toml",
        description="The help contacts (TOML) the help block is written from.",
    )
    answers: Path = Field(
        default=PROJECT_ROOT / "corpus" / "answers", description="Folder of the curated answers (answer cards, TOML)."
    )
    safety: Path = Field(
        default=PROJECT_ROOT / "corpus" / "safety",
        description="Folder of the danger model's training data and the help texts (help.toml).",
    )
    smalltalk: Path = Field(
        default=PROJECT_ROOT / "corpus" / "smalltalk.toml", description="Small-talk prototypes and replies (TOML)."
    )
    gold: Path = Field(
        default=PROJECT_ROOT / "corpus" / "eval",
        description="Folder of the gold questions (gold.jsonl; each row says its split, dev or heldout).",
    )
    eval_sets: Path = Field(
        default=PROJECT_ROOT.parent / "shared" / "eval", description="Folder of the third-party evaluation sets."
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @property
    def model_dir(self) -> Path:
        """Folder of the sentence-transformers model in use."""
        if self.embedding.model:
            return Path(self.embedding.model)
        return self.data_dir / "models" / "multilingual-e5-small"

    def with_data_dir(self, data_dir: Path) -> Settings:
        """Return the same settings over another data folder, keeping the model in use."""
        embedding = self.embedding.model_copy(update={"model": str(self.model_dir)})
        return self.model_copy(update={"data_dir": data_dir, "embedding": embedding})

    @property
    def retrieval_backend(self) -> str:
        """`memory` or `qdrant`, with `auto` resolved."""
        if self.retrieval.backend == "auto":
            return "qdrant" if self.qdrant.url else "memory"
        return self.retrieval.backend

    @property
    def qdrant_path(self) -> Path:
        """Folder of the embedded Qdrant store."""
        return self.data_dir / "qdrant"


def settings_rows() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting, as README.md lists them."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name.upper()}__")
                continue
            default = info.get_default(call_default_factory=True)
            if isinstance(default, list):
                shown = ", ".join(os.path.relpath(v, PROJECT_ROOT) if isinstance(v, Path) else str(v) for v in default)
            elif isinstance(default, Path) and default.is_absolute():
                shown = os.path.relpath(default, PROJECT_ROOT)
            else:
                shown = "" if default is None else str(default)
            rows.append((f"KB_{prefix}{name.upper()}", shown, info.description or ""))

    walk(Settings, "")
    return rows


def settings_table() -> str:
    """Render the README table of settings (regenerate with `python -m kb.config`)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for variable, default, meaning in settings_rows():
        lines.append(f"| `{variable}` | {'`' + default + '`' if default else '(none)'} | {meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_table())


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment; a bad value ends in one line that names the variable.

    Raises:
        ConfigError: a ``KB_*`` value is not valid, with what is wrong and an example of a good one.
    """
    try:
        return Settings(**overrides)
    except SettingsError as exc:
        raise ConfigError(_not_json(str(exc))) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "KB_" + "__".join(str(part) for part in error["loc"]).upper()
            given = os.environ.get(name)
            shown = f"{name}={given!r}" if given is not None else name
            problems.append(f"{shown}: {error['msg']}")
        raise ConfigError("; ".join(problems) + " (see the Settings table in README.md)") from None


def _not_json(message: str) -> str:
    """Name the variable whose list or table value is not JSON, with the value written as JSON."""
    found = re.search(r'field "(\w+)"', message)
    prefix = "KB_" + (found.group(1).upper() if found else "")
    for name, value in sorted(os.environ.items()):
        if name != prefix and not name.startswith(prefix + "__"):
            continue
        try:
            json.loads(value)
        except ValueError:
            example = json.dumps([part.strip() for part in value.split(",") if part.strip()])
            return f"{name}={value!r} is not JSON; a list is written like {name}='{example}'"
    return f"a {prefix}* setting cannot be read: {message}"
