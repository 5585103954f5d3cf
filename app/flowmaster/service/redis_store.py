"""The Redis cluster: sessions, the response cache and per-client rate limits.

Keys carry the prefixes of the spec's redis.uses (the `flowmaster` ACL user may touch only fm:*).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from redis.cluster import ClusterNode, RedisCluster

from .security import token_id
from .settings import Settings


def make_redis(settings: Settings) -> RedisCluster:
    nodes = []
    for node in settings.redis_nodes:
        host, _, port = node.rpartition(":")
        nodes.append(ClusterNode(host, int(port)))
    return RedisCluster(
        startup_nodes=nodes,
        username=settings.redis_username,
        password=settings.redis_password.get_secret_value(),
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        decode_responses=True,
    )


@dataclass(frozen=True)
class SessionData:
    user_id: str
    username: str
    legal_entities: tuple[str, ...]
    roles: tuple[str, ...]
    created_at: float


class SessionStore:
    """token -> who; the token itself is never stored, only its sha256."""

    def __init__(self, redis: RedisCluster, settings: Settings) -> None:
        self.redis, self.prefix, self.ttl = redis, settings.session_prefix, settings.session_ttl

    def _key(self, token: str) -> str:
        return self.prefix + token_id(token)

    def create(self, token: str, data: SessionData) -> None:
        value = json.dumps(
            {
                "uid": data.user_id,
                "u": data.username,
                "le": list(data.legal_entities),
                "r": list(data.roles),
                "t": data.created_at,
            }
        )
        self.redis.set(self._key(token), value, ex=math.ceil(self.ttl))

    def get(self, token: str) -> tuple[SessionData, int] | None:
        """The session and its remaining lifetime in seconds."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self._key(token))
        pipe.ttl(self._key(token))
        raw, ttl = pipe.execute()
        if raw is None:
            return None
        v = json.loads(raw)
        return SessionData(v["uid"], v["u"], tuple(v["le"]), tuple(v["r"]), v["t"]), int(ttl)

    def delete(self, token: str) -> None:
        self.redis.delete(self._key(token))


class ResponseCache:
    """Bodies of immutable resources (published versions, templates) for settings.cache_ttl."""

    def __init__(self, redis: RedisCluster, settings: Settings) -> None:
        self.redis, self.prefix, self.ttl = redis, settings.cache_prefix, settings.cache_ttl

    def get(self, key: str) -> Any | None:
        raw = self.redis.get(self.prefix + key)
        return json.loads(raw) if raw is not None else None

    def put(self, key: str, value: Any) -> None:
        self.redis.set(self.prefix + key, json.dumps(value, default=str), ex=math.ceil(self.ttl))


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    retry_after: int


class RateLimiter:
    """Fixed-window counters per client: INCR on fm:ratelimit:<client>:<window>."""

    def __init__(self, redis: RedisCluster, settings: Settings) -> None:
        self.redis, self.prefix, self.window = redis, settings.rate_limit_prefix, settings.rate_limit_window

    def hit(self, client: str, limit: int) -> RateDecision:
        now = time.time()
        window = int(now // self.window)
        key = f"{self.prefix}{client}:{window}"
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, math.ceil(self.window) + 1, nx=True)
        count, _ = pipe.execute()
        retry_after = max(1, math.ceil((window + 1) * self.window - now))
        return RateDecision(count <= limit, count, limit, retry_after)
