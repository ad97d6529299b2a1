"""Request and response bodies of the auth endpoints."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128


def normalize_email(email: str) -> str:
    """The form an email is stored and looked up in: one account per address."""
    return email.strip().lower()


EmailAddress = Annotated[EmailStr, AfterValidator(normalize_email)]
Password = Annotated[
    str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]


class RegisterRequest(BaseModel):
    email: EmailAddress
    password: Password
    full_name: Annotated[str | None, Field(max_length=200)] = None


class LoginRequest(BaseModel):
    # Not validated as an address: a malformed one simply matches no account.
    email: str
    password: str


class RefreshTokenRequest(BaseModel):
    refresh_token: str


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    is_staff: bool


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
