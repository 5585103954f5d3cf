"""Idempotency-Key on POST creates.

The key is claimed in the same transaction as the create: a retry with the same key and the same
request gets the first response again (status and body, header Idempotent-Replayed: true); the
same key with a different request (another path or body) is refused with 409 naming the header.
A concurrent duplicate waits on the row lock of the first until it commits, then replays it. A
create that fails rolls the claim back with it, so the client may retry with the same key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from .errors import ApiError, bad_request
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


def idempotency_header(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            pattern=_KEY.pattern,  # documented in the OpenAPI schema; checked again below for a clear reason
            description="makes the create safe to retry: the same key and body return the first response",
        ),
    ] = None,
) -> str | None:
    if idempotency_key is not None and not _KEY.match(idempotency_key):
        raise bad_request(f"header.{HEADER}", "1 to 255 printable ASCII characters without spaces")
    return idempotency_key


def fingerprint(content: Any) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Claim:
    db: Session
    user_id: Any
    key: str | None
    replay: JSONResponse | None = None

    def finish(self, status: int, body: Any) -> JSONResponse:
        """Store the response with the claim, commit the request's transaction (the change, its
        outbox events and the stored response together), and return the response."""
        if self.key is not None:
            self.db.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.user_id == self.user_id, IdempotencyKey.key == self.key)
                .values(status_code=status, response=body)
            )
        response = JSONResponse(body, status_code=status)
        self.db.commit()
        return response


def claim(db: Session, user_id: Any, key: str | None, scope: str, content: Any, ttl: float) -> Claim:
    if key is None:
        return Claim(db, user_id, None)
    fp = fingerprint({"scope": scope, "content": content})
    inserted = db.execute(
        insert(IdempotencyKey)
        .values(user_id=user_id, key=key, scope=scope, fingerprint=fp)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    ).first()
    if inserted is not None:
        return Claim(db, user_id, key)
    row = db.execute(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key).with_for_update()
    ).scalar_one()
    if row.created_at < dt.datetime.now(dt.UTC) - dt.timedelta(seconds=ttl):
        # Expired: the key starts over for this request.
        row.scope, row.fingerprint, row.status_code, row.response = scope, fp, None, None
        row.created_at = dt.datetime.now(dt.UTC)
        db.flush()
        return Claim(db, user_id, key)
    if row.scope != scope or row.fingerprint != fp:
        reason = "already used for a different request; send a new key for a new request"
        raise ApiError(409, "idempotency_key_reused", f"{HEADER}: {reason}", [(f"header.{HEADER}", reason)])
    if row.status_code is None:  # cannot happen after a commit; kept as a guard
        raise ApiError(
            409,
            "idempotency_key_in_flight",
            "the first request with this key is still running",
            [(f"header.{HEADER}", "the first request with this key is still running")],
        )
    replay = JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})
    return Claim(db, user_id, key, replay)


IdemDep = Annotated[str | None, Depends(idempotency_header)]


def claim_post(db: Session, request: Any, user_id: Any, key: str | None, content: Any, ttl: float) -> Claim:
    """`claim` for a POST handler: the request's path is the key's scope."""
    return claim(db, user_id, key, f"POST {request.url.path}", content, ttl)
