"""One error hierarchy for every stage.

    YuqingError
    ├── ConfigError                 bad or missing settings (fix the config, then re-run)
    ├── RetryableError              worth trying again later (network, timeouts, busy servers)
    │   ├── StorageUnavailable      object store or database unreachable
    │   ├── UpstreamUnavailable     LLM server / remote site timed out or returned 5xx
    │   └── CrawlError              a source's crawler could not start or run
    └── PermanentError              retrying will not help; record the failure with its reason
        ├── ObjectNotFound          a key that should exist does not
        ├── InvalidInput            a document, media file or line that cannot be processed
        │   ├── MediaError          corrupt, silent or too-long audio/video
        │   └── ExtractionError     no article text could be extracted from a page
        └── InvalidModelOutput      an analyzer returned output that fails the contract

Celery tasks retry ``RetryableError`` and record ``PermanentError`` on the document.
"""

from __future__ import annotations


class YuqingError(Exception):
    """Base of every error Yuqing raises on purpose."""


class ConfigError(YuqingError):
    """Settings are missing or invalid; the message says what to set."""


class RetryableError(YuqingError):
    """A transient failure: the same call may succeed later."""


class StorageUnavailable(RetryableError):
    """The object store or database could not be reached."""


class UpstreamUnavailable(RetryableError):
    """A remote service (LLM server, crawled site) failed transiently."""


class CrawlError(RetryableError):
    """A source's crawler could not start or run (its other sources still ran)."""


class PermanentError(YuqingError):
    """Retrying will not help; the item is recorded as failed with this reason."""


class ObjectNotFound(PermanentError):
    """An object-store key does not exist."""


class InvalidInput(PermanentError):
    """Input that cannot be processed (malformed line, empty document)."""


class MediaError(InvalidInput):
    """Audio or video that cannot be decoded, is silent or too long."""


class ExtractionError(InvalidInput):
    """No article text could be extracted from a page."""


class InvalidModelOutput(PermanentError):
    """An analyzer's output failed validation against the contract."""
