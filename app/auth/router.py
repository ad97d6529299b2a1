"""Accounts and tokens: register, log in, refresh, log out, who am I."""

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import service
from app.auth.deps import CurrentUser
from app.auth.errors import EmailTaken, InvalidCredentials, InvalidToken
from app.auth.schemas import (
    LoginRequest,
    RefreshTokenRequest,
    RegisterRequest,
    TokenPair,
    UserRead,
)
from app.db import SessionDep
from app.deps import ResourcesDep
from app.errors import NotAuthenticated, error_responses
from app.routing import ShopRouter
from app.throttle import TooManyAttempts

router = ShopRouter(tags=["auth"])


@router.post(
    "/register/",
    status_code=201,
    response_model=UserRead,
    responses=error_responses(EmailTaken),
)
async def register(
    body: RegisterRequest, session: SessionDep, resources: ResourcesDep
) -> UserRead:
    """Create a shopper account."""
    user = await service.register_user(session, resources.hasher, body)
    return UserRead.model_validate(user)


@router.post(
    "/login/",
    status_code=200,
    response_model=TokenPair,
    responses=error_responses(InvalidCredentials, TooManyAttempts),
)
async def login(
    body: LoginRequest, request: Request, session: SessionDep, resources: ResourcesDep
) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    return await service.login(
        session,
        resources,
        email=body.email,
        password=body.password,
        client=_client_address(request),
    )


@router.post(
    "/token/",
    status_code=200,
    response_model=TokenPair,
    responses=error_responses(InvalidCredentials, TooManyAttempts),
)
async def login_with_form(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
) -> TokenPair:
    """The same login as an OAuth2 password form (username is the email)."""
    return await service.login(
        session,
        resources,
        email=form.username,
        password=form.password,
        client=_client_address(request),
    )


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/token/refresh/",
    status_code=200,
    response_model=TokenPair,
    responses=error_responses(InvalidToken),
)
async def refresh(
    body: RefreshTokenRequest, session: SessionDep, resources: ResourcesDep
) -> TokenPair:
    """Spend a refresh token for a new pair; each refresh token works once."""
    return await service.refresh(session, resources, body.refresh_token)


@router.post("/logout/", status_code=204, response_class=Response)
async def logout(body: RefreshTokenRequest, session: SessionDep) -> None:
    """Revoke this refresh token's session; no access token is needed, as an
    expired one must not stop a sign-out and the refresh token is proof enough."""
    await service.logout(session, body.refresh_token)


@router.get(
    "/me/", response_model=UserRead, responses=error_responses(NotAuthenticated)
)
async def read_me(user: CurrentUser) -> UserRead:
    """The account the access token belongs to."""
    return UserRead.model_validate(user)
