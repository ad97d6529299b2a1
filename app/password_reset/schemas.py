"""Bodies of the password reset endpoints."""

from pydantic import BaseModel, Field

from app.auth.schemas import EmailAddress, Password
from app.inputs import RequestModel


class ResetRequest(RequestModel):
    email: EmailAddress = Field(examples=["ada@example.com"])


class ResetConfirm(BaseModel):
    # Deliberately unconstrained: any string that is not a live token is a 400
    # `token_invalid`, never a 422, so a client has one case to handle.
    token: str
    new_password: Password


class ResetAnswer(BaseModel):
    detail: str
