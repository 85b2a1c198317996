"""The query-path caches and the micro-batching encoder."""

from __future__ import annotations

import threading
import time

import numpy as np

from kb.models.batching import BatchingEncoder
from kb.search.cache import TTLCache, question_key


def test_cache_keys_hold_no_question_text_and_normalise() -> None:
    key = question_key("  Kuka PÄÄTTÄÄ   harkinta-ajasta? ", "fi")
    assert key == question_key("kuka päättää harkinta-ajasta?", "fi")
    assert "päättää" not in repr(key).casefold()


def test_cache_expires_and_stays_bounded() -> None:
    cache: TTLCache[int] = TTLCache(maxsize=2, ttl=0.05)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None and cache.get("c") == 3 and len(cache) == 2
    time.sleep(0.06)
    assert cache.get("c") is None


class CountingEncoder:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, text: str) -> np.ndarray:
        return self.encode_many([text])[0]

    def encode_many(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        time.sleep(0.02)  # a model call takes time; questions arriving meanwhile form the next batch
        return np.array([[float(len(t))] for t in texts])


def _encode_from_16_threads(encoder: BatchingEncoder) -> dict[int, float]:
    """Question i (i x's long) asked from its own thread, all at once; each caller's vector by i."""
    results: dict[int, float] = {}

    def ask(i: int) -> None:
        results[i] = float(encoder.encode("x" * i)[0])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(1, 17)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_batching_groups_concurrent_questions_and_keeps_order() -> None:
    inner = CountingEncoder()
    encoder = BatchingEncoder(inner)  # type: ignore[arg-type]
    results = _encode_from_16_threads(encoder)
    encoder.close()
    assert results == {i: float(i) for i in range(1, 17)}  # every caller got its own vector
    assert sum(inner.calls) == 16 and len(inner.calls) < 16  # some questions shared a model call


def test_batching_two_workers_encode_side_by_side_and_stop() -> None:
    callers: set[str] = set()

    class RecordingEncoder(CountingEncoder):
        def encode_many(self, texts: list[str]) -> np.ndarray:
            callers.add(threading.current_thread().name)
            return super().encode_many(texts)

    inner = RecordingEncoder()
    encoder = BatchingEncoder(inner, max_batch=4, workers=2)  # type: ignore[arg-type]
    results = _encode_from_16_threads(encoder)
    encoder.close()
    assert results == {i: float(i) for i in range(1, 17)}
    assert sum(inner.calls) == 16 and max(inner.calls) <= 4
    # 16 questions in batches of at most 4 while each call takes 20 ms: the second worker takes its share.
    assert callers == {"majakka-encoder-0", "majakka-encoder-1"}
    assert not any(worker.is_alive() for worker in encoder._workers)


async def _encode_async(encoder: BatchingEncoder, text: str) -> float:
    return float((await encoder.encode_async(text))[0])


def test_batching_encode_async_waits_without_a_thread() -> None:
    import asyncio

    encoder = BatchingEncoder(CountingEncoder())  # type: ignore[arg-type]

    async def main() -> list[float]:
        return await asyncio.gather(*(_encode_async(encoder, "x" * i) for i in range(1, 6)))

    try:
        assert asyncio.run(main()) == [1.0, 2.0, 3.0, 4.0, 5.0]
    finally:
        encoder.close()
