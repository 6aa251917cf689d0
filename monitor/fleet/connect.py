"""Connecting to Redis, and the names of one fleet's keys.

A fleet is the daemon of one database and the crawl workers that serve it. Its keys all
start with ``nw:{NAME}:`` (NAME defaults to ``newswatch``; one fleet per database). The
braces are a Redis Cluster hash tag: every key of a fleet lands in one slot, so the Lua
scripts of ``monitor.fleet.jobs`` may touch several of them.

The URL is redis-py's (``Redis.from_url``): ``redis://[:PASSWORD@]HOST:PORT/DB`` or, with
TLS, ``rediss://...`` (``?ssl_ca_certs=/path/ca.pem`` to trust a private CA,
``ssl_cert_reqs=required`` by default). The password is never written into Redis and never
printed: messages show the URL through :func:`redacted`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis

DEFAULT_FLEET = "newswatch"
# commands a fleet needs: XAUTOCLAIM (6.2), XINFO GROUPS' lag (7.0)
MINIMUM_VERSION = (7, 0)


class RedisUnavailable(Exception):
    """Redis could not be reached, refused the password, or is older than 7.0. The
    message is one line and never holds the password."""


def redacted(url: str) -> str:
    """``url`` with its password (and user name) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def connect(url: str, timeout: float = 10.0) -> redis.Redis:
    """A client for ``url`` (``redis://`` or ``rediss://`` for TLS, password in the URL),
    with replies decoded as UTF-8 text, checked with a PING and for Redis 7.0 or newer.
    ``timeout`` (seconds) bounds connecting and each reply (blocking reads add their own
    block time). Raises :class:`RedisUnavailable`."""
    where = redacted(url)
    try:
        client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout,
                                      socket_connect_timeout=timeout,
                                      health_check_interval=30)
    except ValueError as exc:
        raise RedisUnavailable(f"{where}: not a Redis URL ({exc})") from None
    try:
        client.ping()
        version = str(client.info("server").get("redis_version", "0"))
    except redis.AuthenticationError:
        raise RedisUnavailable(f"{where}: Redis refused the password") from None
    except redis.ResponseError as exc:
        raise RedisUnavailable(f"{where}: {str(exc).splitlines()[0]}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise RedisUnavailable(f"{where}: cannot connect ({_first_line(exc)})") from None
    numbers = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    if numbers < MINIMUM_VERSION:
        raise RedisUnavailable(f"{where}: Redis {version} is older than 7.0")
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one fleet (``name``: letters, digits, ``._-``)."""

    name: str = DEFAULT_FLEET

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "._-" for c in self.name):
            raise ValueError(f"fleet name {self.name!r}: letters, digits, '.', '_', '-' only")

    def key(self, part: str) -> str:
        """``nw:{NAME}:part``."""
        return f"nw:{{{self.name}}}:{part}"

    # the job queue (monitor.fleet.jobs)
    @property
    def ready(self) -> str:  # LIST of job ids waiting for a worker, oldest first
        return self.key("jobs:ready")

    @property
    def jobs(self) -> str:  # HASH job id -> the job's JSON, while queued or held
        return self.key("jobs:data")

    @property
    def job_sites(self) -> str:  # HASH job id -> its site
        return self.key("jobs:site")

    @property
    def sites(self) -> str:  # HASH site -> the id of its job queued or held (one at most)
        return self.key("jobs:by-site")

    @property
    def leases(self) -> str:  # ZSET job id -> lease deadline (Redis server time, ms)
        return self.key("jobs:leases")

    @property
    def holders(self) -> str:  # HASH job id -> JSON {worker, token, taken, attempt}
        return self.key("jobs:holders")

    @property
    def attempts(self) -> str:  # HASH job id -> times taken
        return self.key("jobs:attempts")

    @property
    def failed(self) -> str:  # HASH job id -> JSON {job, reason, worker, attempts}
        return self.key("jobs:failed")

    @property
    def counters(self) -> str:  # HASH counter -> n (offered, taken, finished, ...)
        return self.key("counters")

    def round(self, name: str) -> str:  # SET of source names offered in one round
        return self.key(f"round:{name}")

    # the article stream (monitor.fleet.transport, monitor.fleet.intake)
    @property
    def stream(self) -> str:
        return self.key("articles")

    group = "writer"  # the stream's consumer group: the database's one writer

    @property
    def epoch(self) -> str:  # STRING: a token the writer sets once; gone if Redis lost it
        return self.key("epoch")

    # workers (monitor.fleet.registry)
    @property
    def workers(self) -> str:  # HASH worker -> JSON {host, pid, started, job, ...}
        return self.key("workers")

    @property
    def seen(self) -> str:  # ZSET worker -> last heartbeat (Redis server time, ms)
        return self.key("workers:seen")
