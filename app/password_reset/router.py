"""Password reset endpoints and the page the emailed link opens."""

from fastapi import status
from fastapi.responses import HTMLResponse

from app.db import SessionDep
from app.deps import ResourcesDep
from app.errors import error_responses
from app.password_reset import service
from app.password_reset.page import PAGE_HEADERS, PAGE_HTML
from app.password_reset.schemas import ResetAnswer, ResetConfirm, ResetRequest
from app.routing import ShopRouter

router = ShopRouter(tags=["password reset"])


@router.post(
    "/password-reset/",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(service.EmailNotFound),
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


@router.get("/reset-password", response_class=HTMLResponse, include_in_schema=False)
async def reset_password_page() -> HTMLResponse:
    """The page the emailed link opens; its script reads the token from the URL."""
    return HTMLResponse(PAGE_HTML, headers=PAGE_HEADERS)
