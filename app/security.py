"""Password hashing, access tokens and opaque secrets.

Hashing runs in worker threads: argon2 is deliberately slow and must never
block the event loop that serves everyone else. Nor may it take the loop's
CPU: a few hashes at once fill every core. So hashes run on a few threads of
their own (`PASSWORD_HASH_CONCURRENCY`, by default one fewer than the CPUs)
at a lower scheduling priority: a burst of logins queues and yields the CPU
to the event loop, instead of starving the catalog.
"""

import asyncio
import base64
import hashlib
import os
import secrets
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from cryptography.fernet import Fernet, InvalidToken
from jose import JWTError, jwt
from passlib.context import CryptContext

from app.config import Settings
from app.models import utcnow

_JWT_ALGORITHM = "HS256"
_ACCESS_AUDIENCE = "shop:access"
# Added to the hashing threads' nice value (Linux only, where it is per thread).
_HASHING_NICENESS = 10

T = TypeVar("T")

_REQUIRED_CLAIMS = {
    "require_aud": True,
    "require_exp": True,
    "require_iat": True,
    "require_sub": True,
}


def default_hash_concurrency() -> int:
    """One fewer than the CPUs this process may run on, and at least one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)


def _lower_thread_priority() -> None:
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _HASHING_NICENESS)


class PasswordHasher:
    def __init__(self, settings: Settings) -> None:
        self.concurrency = (
            settings.password_hash_concurrency or default_hash_concurrency()
        )
        # Threads of its own also bound the memory argon2 holds: each thread
        # keeps its last 19 MiB working area in its own malloc arena.
        self._threads = ThreadPoolExecutor(
            max_workers=self.concurrency,
            thread_name_prefix="password-hash",
            initializer=_lower_thread_priority,
        )
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=settings.argon2_memory_kib,
            argon2__time_cost=settings.argon2_time_cost,
            argon2__parallelism=settings.argon2_parallelism,
        )
        # Verified against when the account does not exist, so that an unknown
        # email costs as long as a wrong password.
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(16))

    async def _in_hashing_thread(self, work: Callable[..., T], *args: object) -> T:
        # A caller cancelled while queued leaves the queue: its hash never runs.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, work, *args)

    async def hash(self, password: str) -> str:
        return await self._in_hashing_thread(self._context.hash, password)

    async def verify(
        self, password: str, stored_hash: str | None
    ) -> tuple[bool, str | None]:
        """Check a password; also return a new hash when the parameters changed."""
        if stored_hash is None:
            await self._in_hashing_thread(
                self._context.verify, password, self._dummy_hash
            )
            return False, None
        return await self._in_hashing_thread(
            self._context.verify_and_update, password, stored_hash
        )


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    token_version: int


class AccessTokens:
    def __init__(self, settings: Settings) -> None:
        self._key = settings.secret_key.get_secret_value()
        self.ttl_seconds = settings.access_token_ttl_seconds

    def issue(self, user_id: int, token_version: int) -> str:
        now = utcnow()
        claims = {
            "sub": str(user_id),
            "ver": token_version,
            "aud": _ACCESS_AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=_JWT_ALGORITHM)

    def read(self, token: str) -> AccessClaims | None:
        """The claims of a valid, unexpired access token, else None."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_JWT_ALGORITHM],
                audience=_ACCESS_AUDIENCE,
                options=_REQUIRED_CLAIMS,
            )
            return _claims(claims)
        except (JWTError, KeyError, TypeError, ValueError):
            return None


def _claims(claims: dict[str, object]) -> AccessClaims | None:
    subject, version = claims.get("sub"), claims.get("ver")
    if not (isinstance(subject, str) and subject.isdigit()) or type(version) is not int:
        return None
    return AccessClaims(user_id=int(subject), token_version=version)


def new_opaque_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def fingerprint(token: str) -> str:
    """What the database keeps of a bearer secret: its SHA-256, never the secret."""
    # surrogatepass: whatever string a client sends hashes; it just matches nothing.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Sealer:
    """Encrypts a secret a job must carry (a reset token on its way to the mailer)."""

    def __init__(self, settings: Settings) -> None:
        digest = hashlib.sha256(
            b"sealer:" + settings.secret_key.get_secret_value().encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(digest.digest()))

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def unseal(self, sealed: str) -> str | None:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
