"""Stable identities: a document is its canonical URL, a media asset its bytes."""

from __future__ import annotations

import hashlib

from w3lib.url import canonicalize_url, url_query_cleaner

# Query parameters that only track where a click came from; they never change the article.
TRACKING_PARAMS = ("from", "spm", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "share_token")


def canonical_url(url: str) -> str:
    """Normalise a URL so the same article always maps to the same string."""
    cleaned = url_query_cleaner(url, TRACKING_PARAMS, remove=True)
    return canonicalize_url(cleaned, keep_fragments=False)


def doc_id(url: str) -> str:
    """A short stable id for the article at ``url`` (hash of its canonical form)."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()[:20]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
