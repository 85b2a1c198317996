"""The token bucket itself (its HTTP behaviour is tested with the app)."""

from __future__ import annotations

import time

from api.ratelimit import TokenBucketLimiter


def test_ratelimit_allows_burst_then_asks_to_wait_then_refills() -> None:
    limiter = TokenBucketLimiter(rate=20.0, burst=3)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert 0 < wait <= 0.05 + 1e-9
    assert limiter.take("b") == 0.0  # clients have their own buckets
    time.sleep(0.06)
    assert limiter.take("a") == 0.0
