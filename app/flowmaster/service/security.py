"""Password hashes (hashlib.scrypt) and session tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost: n=2**14, r=8, p=1 (the values RFC 7914 and OWASP name for interactive logins).
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A login for an unknown user still pays for one scrypt, so timing does not reveal user names.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_id(token: str) -> str:
    """Redis keeps sessions under the token's hash: a Redis dump holds no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
