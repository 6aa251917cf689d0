"""What crosses Redis: JSON text only, never pickle.

Anyone who can write to a Redis the crawl trusts could otherwise run code in every
process that reads it (scrapy-redis pickles its requests: issue 32). So jobs, articles
and ledgers are JSON; the one non-JSON type an analysed article holds, its MinHash
signature (``bytes``), travels as ``{"$bytes": "<base64>"}`` and comes back as bytes.
Anything else that is not JSON (a set, a datetime, an object) is refused with
:class:`WireError` when it is written, not silently turned into a string.

Secrets never go into Redis: a job carries a source's settings (``source_settings``), which
hold no alert channel, and :func:`refuse_secrets` refuses a payload that holds any of the
secret values the caller names (the alert channels' variables the daemon withholds,
``monitor.alerts.withhold_secrets``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from monitor.sources import Source

_BYTES = "$bytes"


class WireError(ValueError):
    """A payload that is not JSON as the fleet writes it (or would carry a secret)."""


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    raise WireError(f"not JSON: a {type(value).__name__} cannot cross Redis")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _BYTES in obj:
        value = obj[_BYTES]
        if not isinstance(value, str):
            raise WireError("a $bytes value must be base64 text")
        return base64.b64decode(value, validate=True)
    return obj


def dumps(payload: Any) -> str:
    """``payload`` as compact JSON text (bytes as ``{"$bytes": base64}``; tuples as
    lists). Raises :class:`WireError` for anything else that is not JSON, and for NaN or
    infinities (not JSON either)."""
    try:
        return json.dumps(payload, default=_encode, ensure_ascii=False,
                          separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN, circular references
        if isinstance(exc, WireError):
            raise
        raise WireError(f"not JSON: {exc}") from None


def loads(text: str | bytes) -> Any:
    """The payload of JSON ``text`` (``{"$bytes": ...}`` back to bytes). Raises
    :class:`WireError` for text that is not JSON (a pickle, say) or not UTF-8."""
    try:
        return json.loads(text, object_hook=_decode)
    except (ValueError, TypeError) as exc:
        raise WireError(f"not JSON ({type(exc).__name__}): refused") from None


def source_settings(source: Source) -> dict[str, Any]:
    """The settings of one source as a job carries them: ``Source`` as JSON-able data
    (its profile included). Loaded back with ``Source.model_validate``."""
    return source.model_dump(mode="json")


def refuse_secrets(text: str, secrets: Iterable[str]) -> None:
    """Raise :class:`WireError` when ``text`` (a payload about to be written) holds any
    of ``secrets`` (values of 4 characters or more; shorter ones would match by chance).
    The message never holds the secret."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            raise WireError("refused: the payload holds a secret (an alert channel's "
                            "variable); secrets never go into Redis")
