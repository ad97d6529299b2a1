"""Who is calling: the current user from the bearer access token."""

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from app.db import SessionDep
from app.deps import ResourcesDep
from app.errors import Forbidden, NotAuthenticated
from app.models import User

_bearer = OAuth2PasswordBearer(tokenUrl="/token/", auto_error=False)


async def _current_user(
    token: Annotated[str | None, Depends(_bearer)],
    session: SessionDep,
    resources: ResourcesDep,
) -> User:
    claims = resources.access_tokens.read(token) if token else None
    if claims is None:
        raise NotAuthenticated("Missing, invalid or expired access token")
    user = await session.get(User, claims.user_id)
    # A password reset bumps token_version and so kills every older token.
    if user is None or user.token_version != claims.token_version:
        raise NotAuthenticated("Missing, invalid or expired access token")
    return user


async def _staff_user(user: Annotated[User, Depends(_current_user)]) -> User:
    if not user.is_staff:
        raise Forbidden("Staff only")
    return user


CurrentUser = Annotated[User, Depends(_current_user)]
StaffUser = Annotated[User, Depends(_staff_user)]
