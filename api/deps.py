"""Dependencies shared by the routes."""

from __future__ import annotations

import functools
import ipaddress
import math

from fastapi import HTTPException, Request

from kb.knowledge_base import KnowledgeBase


def get_kb(request: Request) -> KnowledgeBase:
    """Return the loaded knowledge base, or answer 503 while it is not ready."""
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    if kb is None:
        error = getattr(request.app.state, "startup_error", None)
        raise HTTPException(status_code=503, detail=error or "Majakka is starting; try again in a few seconds.")
    return kb


def rate_limit(request: Request) -> None:
    """429 with Retry-After when this client has used up its tokens."""
    wait = client_wait(request)
    if wait > 0:
        raise too_many_requests(wait)


def too_many_requests(wait: float) -> HTTPException:
    """Return the 429 for a client that must wait ``wait`` seconds."""
    return HTTPException(
        status_code=429,
        detail="Too many requests; please wait a moment and try again.",
        headers={"Retry-After": str(max(1, math.ceil(wait)))},
    )


def client_wait(request: Request) -> float:
    """Take a token for this client; the seconds to wait, 0 when allowed."""
    return float(request.app.state.limiter.take(client_key(request)))


# An IPv6 host usually has a whole /64 to itself: one bucket for it, not 2^64.
IPV6_PREFIX = 64


def client_key(request: Request) -> str:
    """Return the client a request counts against: its address, or its /64 network for IPv6.

    The address is the TCP peer's. Only when the peer is one of ``KB_API__TRUSTED_PROXIES`` is ``X-Forwarded-For``
    read: from the right, the first address that is not itself a trusted proxy (what the nearest proxy saw); a
    value that is not an address counts as the proxy itself, so it cannot make a fresh bucket.
    """
    peer = request.client.host if request.client else "unknown"
    trusted = _networks(tuple(request.app.state.settings.api.trusted_proxies))
    address = _address(peer)
    if address is not None and _within(address, trusted):
        for hop in reversed(request.headers.get("x-forwarded-for", "").split(",")):
            forwarded = _address(hop.strip())
            if forwarded is None:
                break
            address = forwarded
            if not _within(forwarded, trusted):
                break
    if address is None:
        return peer
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=8)
def _networks(items: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _within(address: ipaddress.IPv4Address | ipaddress.IPv6Address,
            networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)
