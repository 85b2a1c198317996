"""Micro-batching: questions that arrive together are encoded in one model call.

Each caller puts its text in a queue and waits; a worker thread takes everything that has arrived (up to
``max_batch``) and encodes it in one call. Questions that come in while a batch is being encoded form the next
batch, so a lone question never waits for company, and under concurrent load the model runs on batches. With more
than one worker, batches are encoded side by side (on two cores, two workers of up to four questions each answered
10–20 % more questions a second at concurrency 8 than one worker of up to sixteen).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future

import numpy as np

from kb.models.encoders import Encoder


class BatchingEncoder:
    """Wraps an encoder; ``encode`` may be called from many threads."""

    def __init__(self, encoder: Encoder, *, max_batch: int = 16, workers: int = 1) -> None:
        self.encoder = encoder
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[str, Future[np.ndarray]] | None] = queue.Queue()
        self._workers = [
            threading.Thread(target=self._run, name=f"majakka-encoder-{i}", daemon=True) for i in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def encode(self, text: str) -> np.ndarray:
        """One question's embedding (batched with concurrent ones)."""
        future: Future[np.ndarray] = Future()
        self._queue.put((text, future))
        return future.result()

    async def encode_async(self, text: str) -> np.ndarray:
        """``encode`` for an event loop: the loop goes on serving while the worker encodes the batch."""
        future: Future[np.ndarray] = Future()
        self._queue.put((text, future))
        return await asyncio.wrap_future(future)

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """Several texts at once, directly."""
        return self.encoder.encode_many(texts)

    def close(self) -> None:
        """Stop the worker."""
        for _worker in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            try:
                while len(batch) < self.max_batch:
                    more = self._queue.get_nowait()
                    if more is None:
                        self._queue.put(None)
                        break
                    batch.append(more)
            except queue.Empty:
                pass
            try:
                vectors = self.encoder.encode_many([text for text, _ in batch])
                for (_text, future), vector in zip(batch, vectors, strict=True):
                    future.set_result(vector)
            except Exception as exc:  # every waiting caller learns of the failure
                for _text, future in batch:
                    future.set_exception(exc)
