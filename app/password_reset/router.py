"""Password reset endpoints, and the client's reset screen the emailed link opens."""

from fastapi import status
from fastapi.responses import FileResponse

from app.db import SessionDep
from app.deps import ResourcesDep
from app.errors import error_responses
from app.password_reset import service
from app.password_reset.schemas import ResetAnswer, ResetConfirm, ResetRequest
from app.routing import ShopRouter
from app.throttle import TooManyAttempts
from app.web_client import client_page

router = ShopRouter(tags=["password reset"])


@router.post(
    "/password-reset/",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(service.EmailNotFound, TooManyAttempts),
)
async def request_password_reset(
    body: ResetRequest, session: SessionDep, resources: ResourcesDep
) -> ResetAnswer:
    """Email a single-use link for choosing a new password."""
    await service.request_reset(session, resources, body.email)
    return ResetAnswer(detail="Check your email for a reset link")


@router.post(
    "/password-reset/confirm/",
    status_code=status.HTTP_200_OK,
    responses=error_responses(service.ResetTokenInvalid, service.ResetTokenExpired),
)
async def confirm_password_reset(
    body: ResetConfirm, session: SessionDep, resources: ResourcesDep
) -> ResetAnswer:
    """Set a new password with the token from the link; signs out every session."""
    await service.confirm_reset(
        session, resources.hasher, body.token, body.new_password
    )
    return ResetAnswer(detail="Password changed")


@router.get("/reset-password", response_class=FileResponse, include_in_schema=False)
async def reset_password_page() -> FileResponse:
    """The reset screen of the shop client, opened by the emailed link.

    The client itself rather than a redirect, so no response echoes the token;
    no Referer carries it to the page's own requests, and the script moves it
    from the query (which servers log) to the fragment (which no request sends).
    """
    return client_page()
