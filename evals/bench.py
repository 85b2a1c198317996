"""`kb bench`: speed and memory, Majakka against a plain Haystack pipeline, measured in one run on this machine.

Method (also printed in the report):
- ingest: the whole default corpus into an empty data folder (passages per second), then a no-op re-ingest; in
  the same run, the same ingest with float32 passages (the encoder before bfloat16) and a plain Haystack
  indexing pipeline (DocumentSplitter → SentenceTransformersDocumentEmbedder → DocumentWriter) over the same files;
- in-process: every gold question, three rounds, warm; search and ask with the result caches off (every
  question computed) and, separately, with them on; the baseline pipeline likewise;
- HTTP on loopback: `kb serve` as its own process; GET /api/v1/search and POST /api/v1/ask at concurrency 1, 8
  and 32, each level bounded by a request count and a time limit; latency p50/p95, throughput, errors;
  start-up time to a ready /healthz; the server's peak resident memory (VmHWM). The baseline server
  (evals.bench_baseline) gets the same search load. The server runs with its caches OFF (KB_CACHE__SIZE=0), so
  the repeated gold questions are computed every time. Medians and ratios come from this one run.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from evals.gold import load_gold
from kb.config import Settings

LEVELS = {1: 200, 8: 600, 32: 1200}  # concurrency → requests
TIME_LIMIT = 60.0  # seconds per level at most


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of values, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(
    command: list[str], port: int, env: dict[str, str] | None = None, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server process (with ``env``, else this one's) and wait until /healthz answers 200.

    Returns the process and the seconds it took.
    """
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while time.perf_counter() - began < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {' '.join(command)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, time.perf_counter() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not become ready in time")


def http_request(method: str, port: int, path: str, body: dict[str, Any] | None = None) -> bytes:
    """One HTTP/1.1 keep-alive request as bytes."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: keep-alive"]
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode("utf-8")
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload


def load(
    port: int, requests: list[bytes], check: Callable[[Any], bool], concurrency: int, count: int
) -> dict[str, Any]:
    """Send ``count`` requests (cycling through ``requests``) over ``concurrency`` keep-alive connections.

    The client is one asyncio loop speaking plain HTTP/1.1, so that on two cores the load generator takes as little
    CPU from the server as possible.
    A response counts as an error unless it is 200 and its JSON body passes ``check``. Bounded by TIME_LIMIT.
    """

    async def main() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        errors = 0
        counter = iter(range(count))
        deadline = time.perf_counter() + TIME_LIMIT

        async def connection() -> None:
            nonlocal errors
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                while time.perf_counter() < deadline and (i := next(counter, None)) is not None:
                    began = time.perf_counter()
                    writer.write(requests[i % len(requests)])
                    ok = False
                    try:
                        status = int((await reader.readline()).split()[1])
                        length = 0
                        while (line := await reader.readline()) not in (b"\r\n", b""):
                            name, _, value = line.partition(b":")
                            if name.strip().lower() == b"content-length":
                                length = int(value)
                        body = await reader.readexactly(length)
                        ok = status == 200 and check(json.loads(body))
                    except (IndexError, ValueError, asyncio.IncompleteReadError, ConnectionError):
                        errors += 1
                        return
                    latencies.append(time.perf_counter() - began)
                    errors += not ok
            finally:
                writer.close()

        began = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - began

    latencies, errors, wall = asyncio.run(main())
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(pct(latencies, 0.5), 2),
        "p95_ms": round(pct(latencies, 0.95), 2),
        "throughput_rps": round(len(latencies) / wall, 1),
    }


def measure_server(
    command: list[str], port: int, texts: list[str], *, with_ask: bool, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Start a server, load /search (and /ask) at every concurrency level, read its peak memory, stop it."""
    server, startup = start_server(command, port, env)
    try:
        out: dict[str, Any] = {"startup_seconds": round(startup, 2)}
        searches = [http_request("GET", port, f"/api/v1/search?{urlencode({'q': t})}") for t in texts]
        out["search"] = [load(port, searches, lambda b: bool(b["passages"]), n, m) for n, m in LEVELS.items()]
        if with_ask:
            asks = [http_request("POST", port, "/api/v1/ask", {"question": t}) for t in texts]
            out["ask"] = [load(port, asks, lambda b: bool(b["answer"]), n, m) for n, m in LEVELS.items()]
        out["peak_rss_mb"] = round(peak_rss_mb(server.pid), 1)
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def danger_check_seconds(kb: Any, texts: list[str], rounds: int = 3) -> list[float]:
    """Time what the danger check adds to a request: message language and the model, on embeddings already made."""
    from kb.text.normalise import normalise

    asker = kb.asker
    prepared = [(t, kb.embed(t)) for t in map(normalise, texts)]
    seconds = []
    for _round in range(rounds):
        for text, vector in prepared:
            began = time.perf_counter()
            asker.danger.assess(text, vector, asker.detector.detect_message(text))
            seconds.append(time.perf_counter() - began)
    return seconds


def run(settings: Settings) -> dict[str, Any]:
    """Run every measurement; returns the results as a dict."""
    from evals.bench_baseline import build_baseline, plain_indexing
    from ingest.indexer import Indexer
    from kb.knowledge_base import KnowledgeBase
    from kb.models.encoders import passage_precision
    from kb.search.store import open_client

    questions = load_gold(settings.gold)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "method": __doc__}
    work = Path(tempfile.mkdtemp(prefix="majakka-bench-"))
    data_dir = work / "data"
    bench_settings = settings.with_data_dir(data_dir)
    try:
        client = open_client(bench_settings)
        try:
            indexer = Indexer(bench_settings, client)
            first = indexer.ingest(list(settings.sources))
            again = indexer.ingest(list(settings.sources))
            collection = indexer.catalog.served()
        finally:
            client.close()
        results["ingest"] = {
            "passages": first.passages,
            "seconds": round(first.seconds, 1),
            "passages_per_second": round(first.passages / first.seconds, 1),
            "noop_reingest_seconds": round(again.seconds, 2),
            "precision": passage_precision(bench_settings),
        }
        # A no-op re-ingest as a whole command (interpreter start, imports, hashing, the catalog), three times.
        command = [sys.executable, "-m", "majakka.cli", "ingest", "--data-dir", str(data_dir)]
        command_env = {**os.environ, "KB_EMBEDDING__MODEL": str(settings.model_dir)}
        noop_runs = []
        for _run in range(3):
            began = time.perf_counter()
            subprocess.run(command, env=command_env, check=True, capture_output=True)
            noop_runs.append(time.perf_counter() - began)
        results["ingest"]["noop_command_seconds"] = round(pct(noop_runs, 0.5) / 1000, 2)
        # In the same run: the whole ingest again with float32 passages (the encoder before bfloat16), and a plain
        # Haystack indexing pipeline over the same files.
        full = bench_settings.model_copy(
            update={"embedding": bench_settings.embedding.model_copy(update={"passage_precision": "float32"})}
        ).with_data_dir(work / "data-float32")
        client = open_client(full)
        try:
            float32 = Indexer(full, client).ingest(list(settings.sources))
        finally:
            client.close()
        plain_passages, plain_seconds = plain_indexing(bench_settings, list(settings.sources), work / "plain-qdrant")
        results["ingest"]["float32"] = {
            "seconds": round(float32.seconds, 1),
            "passages_per_second": round(float32.passages / float32.seconds, 1),
        }
        results["ingest"]["plain_haystack"] = {
            "passages": plain_passages,
            "seconds": round(plain_seconds, 1),
            "passages_per_second": round(plain_passages / plain_seconds, 1),
        }

        timings: dict[str, list[float]] = {}
        for label, size in (("", 0), ("cached_", settings.cache.size)):
            cache_settings = bench_settings.model_copy(
                update={"cache": bench_settings.cache.model_copy(update={"size": size})}
            )
            with KnowledgeBase(cache_settings) as kb:
                for q in questions[:5]:
                    kb.ask(q.question)
                timings[label + "search"], timings[label + "ask"] = [], []
                timings[label + "danger_check"] = danger_check_seconds(kb, [q.question for q in questions])
                for _round in range(3):
                    for q in questions:
                        began = time.perf_counter()
                        kb.search(q.question)
                        timings[label + "search"].append(time.perf_counter() - began)
                        began = time.perf_counter()
                        kb.ask(q.question, audience=q.audience)
                        timings[label + "ask"].append(time.perf_counter() - began)
        baseline = build_baseline(bench_settings, str(collection))
        base_times = []
        for _round in range(3):
            for q in questions:
                began = time.perf_counter()
                baseline.run({"embedder": {"text": q.question}, "retriever": {"top_k": 5}})
                base_times.append(time.perf_counter() - began)
        baseline.get_component("retriever")._document_store.close()  # type: ignore[attr-defined]
        del baseline
        results["in_process_ms"] = {
            name: {"p50": round(pct(v, 0.5), 2), "p95": round(pct(v, 0.95), 2), "n": len(v)}
            for name, v in timings.items()
        }
        results["in_process_ms"]["baseline_search"] = {
            "p50": round(pct(base_times, 0.5), 2),
            "p95": round(pct(base_times, 0.95), 2),
            "n": len(base_times),
        }

        texts = [q.question for q in questions]
        port = free_port()
        env_cmd = [sys.executable, "-m", "majakka.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)]
        server_env = {
            **os.environ,
            "KB_EMBEDDING__MODEL": str(settings.model_dir),
            # One load generator on loopback is one client: lift the per-client rate limit for the measurement.
            "KB_API__RATE": "1000000",
            "KB_API__BURST": "1000000",
            "KB_CACHE__SIZE": "0",  # measure computed answers, not cache hits
        }
        results["http"] = measure_server(env_cmd, port, texts, with_ask=True, env=server_env)

        port = free_port()
        base_cmd = [
            sys.executable, "-m", "evals.bench_baseline",
            "--data-dir", str(data_dir),
            "--collection", str(collection),
            "--port", str(port),
            "--model", str(settings.model_dir),
        ]
        results["baseline_http"] = base_http = measure_server(base_cmd, port, texts, with_ask=False)
        http = results["http"]
        results["ratios"] = {
            f"search_throughput_c{a['concurrency']}": round(a["throughput_rps"] / max(b["throughput_rps"], 1e-9), 2)
            for a, b in zip(http["search"], base_http["search"], strict=True)
        }
        results["ratios"]["ask_vs_baseline_search_throughput_c8"] = round(
            http["ask"][1]["throughput_rps"] / max(base_http["search"][1]["throughput_rps"], 1e-9), 2
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def markdown(results: dict[str, Any]) -> str:
    """Render the bench report as Markdown."""
    lines = ["# Majakka benchmark", "", "```", (results.get("method") or "").strip(), "```", ""]
    i = results["ingest"]
    lines += ["## Ingest", "", "| pipeline | passages | seconds | passages/s |", "|---|---|---|---|",
              f"| Majakka ({i.get('precision', '?')} passages) | {i['passages']} | {i['seconds']} | "
              f"{i['passages_per_second']} |"]
    if "float32" in i:
        lines.append(f"| Majakka, float32 passages | {i['passages']} | {i['float32']['seconds']} | "
                     f"{i['float32']['passages_per_second']} |")
    if "plain_haystack" in i:
        plain = i["plain_haystack"]
        lines.append(f"| plain Haystack (splitter, embedder, writer) | {plain['passages']} | {plain['seconds']} | "
                     f"{plain['passages_per_second']} |")
    lines += ["", f"No-op re-ingest {i['noop_reingest_seconds']} s in the process; as a whole command (`kb ingest`, "
              f"median of 3) {i.get('noop_command_seconds', '?')} s.", ""]
    lines += ["## In-process latency (ms)", "", "| what | p50 | p95 | n |", "|---|---|---|---|"]
    for name, v in results["in_process_ms"].items():
        lines.append(f"| {name} | {v['p50']} | {v['p95']} | {v['n']} |")
    for title, key in (("Majakka over HTTP", "http"), ("Baseline over HTTP", "baseline_http")):
        h = results[key]
        lines += [
            "",
            f"## {title}",
            "",
            f"Start-up to ready: {h['startup_seconds']} s; peak resident memory {h['peak_rss_mb']} MB.",
            "",
            "| endpoint | concurrency | requests | errors | p50 ms | p95 ms | requests/s |",
            "|---|---|---|---|---|---|---|",
        ]
        for endpoint in ("search", "ask"):
            for row in h.get(endpoint, []):
                lines.append(
                    f"| {endpoint} | {row['concurrency']} | {row['requests']} | {row['errors']} | {row['p50_ms']} | "
                    f"{row['p95_ms']} | {row['throughput_rps']} |"
                )
    lines += ["", "## Ratios Majakka / baseline", "", *(f"- {k}: {v}×" for k, v in results["ratios"].items()), ""]
    return "\n".join(lines)


def write_reports(results: dict[str, Any], folder: Path) -> list[Path]:
    """bench.md, bench.json and bench.png (latency by concurrency)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    md, js, png = folder / "bench.md", folder / "bench.json", folder / "bench.png"
    md.write_text(markdown(results), encoding="utf-8")
    js.write_text(json.dumps(results, indent=2), encoding="utf-8")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for label, rows in (
        ("Majakka search", results["http"]["search"]),
        ("Majakka ask", results["http"]["ask"]),
        ("baseline search", results["baseline_http"]["search"]),
    ):
        axes[0].plot([r["concurrency"] for r in rows], [r["p50_ms"] for r in rows], marker="o", label=label)
        axes[1].plot([r["concurrency"] for r in rows], [r["throughput_rps"] for r in rows], marker="o", label=label)
    axes[0].set(xlabel="concurrency", ylabel="p50 latency (ms)", xscale="log")
    axes[1].set(xlabel="concurrency", ylabel="requests/s", xscale="log")
    axes[0].legend()
    fig.suptitle("HTTP on loopback, 2 cores")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return [md, js, png]
