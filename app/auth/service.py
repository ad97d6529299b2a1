"""Accounts, logins and the life of refresh tokens.

A refresh token is an opaque secret the database keeps only as a fingerprint.
Each login starts a family; each refresh spends its token and issues the next
one of the same family. A token spent twice means two parties hold it, so the
whole family is revoked (token theft detection).
"""

import logging
import uuid
from datetime import timedelta

from sqlalchemy import ColumnElement, Update, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.errors import EmailTaken, InvalidCredentials, InvalidToken
from app.auth.schemas import (
    PASSWORD_MAX_LENGTH,
    RegisterRequest,
    TokenPair,
    lookup_email,
)
from app.db import SessionFactory
from app.inputs import storable_text
from app.models import RefreshToken, User, utcnow
from app.resources import Resources
from app.security import PasswordHasher, fingerprint, new_opaque_token

logger = logging.getLogger("app.auth")


async def register_user(
    session: AsyncSession, hasher: PasswordHasher, account: RegisterRequest
) -> User:
    if await _user_by_email(session, account.email) is not None:
        raise EmailTaken()

    user = User(
        email=account.email,
        full_name=account.full_name,
        password_hash=await hasher.hash(account.password),
    )
    await _insert_user(session, user)

    logger.info("auth.user_registered user_id=%s", user.id)
    return user


async def login(
    session: AsyncSession,
    resources: Resources,
    *,
    email: str,
    password: str,
    client: str,
) -> TokenPair:
    """Check the credentials and start a new token family."""
    # Counted per account and client address, so a stranger's guesses from
    # elsewhere cannot lock the owner out.
    attempt = f"{lookup_email(email)}|{client}"
    resources.login_failures.check(attempt)
    try:
        user = await _authenticate(session, resources.hasher, email, password)
    except InvalidCredentials:
        resources.login_failures.record(attempt)
        raise
    resources.login_failures.clear(attempt)
    logger.info("auth.logged_in user_id=%s", user.id)
    return await _issue_tokens(session, resources, user, family=uuid.uuid4().hex)


async def refresh(
    session: AsyncSession, resources: Resources, refresh_token: str
) -> TokenPair:
    """Spend a refresh token for a new pair of the same family."""
    record = await _refresh_token_record(session, refresh_token)
    if record is None:
        raise InvalidToken()
    if record.revoked_at is not None:
        await _revoke_family_for_good(resources.session_factory, record.family)
        logger.warning("auth.revoked_refresh_token_used user_id=%s", record.user_id)
        raise InvalidToken()
    if record.expires_at <= utcnow():
        raise InvalidToken()

    # The conditional update lets exactly one of two concurrent refreshes win.
    user = await session.get(User, record.user_id)
    if user is None or not await _spend(session, record):
        raise InvalidToken()

    return await _issue_tokens(session, resources, user, family=record.family)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    """Revoke the family of this refresh token; an unknown token is ignored."""
    record = await _refresh_token_record(session, refresh_token)
    if record is None:
        return
    await session.execute(_revoke(RefreshToken.family == record.family))
    logger.info("auth.logged_out user_id=%s", record.user_id)


async def ensure_superuser(
    session: AsyncSession, hasher: PasswordHasher, *, email: str, password: str
) -> User:
    """Create a staff account, or promote an existing one and set its password.

    Raises `pydantic.ValidationError` when the email or the password breaks the
    rules `/register/` applies.
    """
    account = RegisterRequest(email=email, password=password)
    user = await _user_by_email(session, account.email)

    if user is None:
        user = User(email=account.email, password_hash=await hasher.hash(password))
        session.add(user)
    else:
        await change_password(session, hasher, user, password)
    user.is_staff = True
    await session.flush()

    logger.info("auth.superuser_ensured user_id=%s", user.id)
    return user


async def change_password(
    session: AsyncSession, hasher: PasswordHasher, user: User, new_password: str
) -> None:
    """Set a new password and sign the user out everywhere."""
    user.password_hash = await hasher.hash(new_password)
    # Every access token carries the version it was issued under; bumping it
    # kills them all without a deny-list.
    user.token_version += 1
    await revoke_all_refresh_tokens(session, user.id)
    await session.flush()
    logger.info("auth.password_changed user_id=%s", user.id)


async def revoke_all_refresh_tokens(session: AsyncSession, user_id: int) -> None:
    await session.execute(_revoke(RefreshToken.user_id == user_id))


async def _user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def _insert_user(session: AsyncSession, user: User) -> None:
    # A concurrent registration may take the email between the check and the
    # insert. The savepoint keeps the request's transaction usable afterwards.
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise EmailTaken() from exc


async def _authenticate(
    session: AsyncSession, hasher: PasswordHasher, email: str, password: str
) -> User:
    if not _plausible(email, password):
        raise InvalidCredentials()
    user = await _user_by_email(session, lookup_email(email))
    # Without an account, verify() checks a dummy hash: the same time is spent.
    matches, new_hash = await hasher.verify(
        password, user.password_hash if user else None
    )
    if user is None or not matches:
        logger.info("auth.login_failed")
        raise InvalidCredentials()

    if new_hash is not None:
        # The hashing parameters changed since this password was set; the plain
        # password is only ever at hand during a login.
        user.password_hash = new_hash
        logger.info("auth.password_rehashed user_id=%s", user.id)
    return user


def _plausible(email: str, password: str) -> bool:
    """Input no account could match is refused before it reaches the database."""
    if len(password) > PASSWORD_MAX_LENGTH * 8:
        return False
    try:
        storable_text(email)
        storable_text(password)
    except ValueError:
        return False
    return True


async def _issue_tokens(
    session: AsyncSession, resources: Resources, user: User, *, family: str
) -> TokenPair:
    refresh_token = new_opaque_token()
    ttl = timedelta(seconds=resources.settings.refresh_token_ttl_seconds)
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=fingerprint(refresh_token),
            family=family,
            expires_at=utcnow() + ttl,
        )
    )
    await session.flush()

    access_tokens = resources.access_tokens
    return TokenPair(
        access_token=access_tokens.issue(user.id, user.token_version),
        refresh_token=refresh_token,
        expires_in=access_tokens.ttl_seconds,
    )


async def _refresh_token_record(
    session: AsyncSession, refresh_token: str
) -> RefreshToken | None:
    query = select(RefreshToken).where(
        RefreshToken.token_hash == fingerprint(refresh_token)
    )
    return await session.scalar(query)


async def _spend(session: AsyncSession, record: RefreshToken) -> bool:
    """Revoke a live token; False when someone else spent it first."""
    statement = _revoke(RefreshToken.id == record.id)
    result = await session.execute(statement)
    return result.rowcount == 1


async def _revoke_family_for_good(factory: SessionFactory, family: str) -> None:
    # The request answers 401 and so rolls back; the revocation must outlive it.
    async with factory() as session, session.begin():
        await session.execute(_revoke(RefreshToken.family == family))


def _revoke(which: ColumnElement[bool]) -> Update:
    return (
        update(RefreshToken)
        .where(which, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
