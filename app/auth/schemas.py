"""Request and response bodies of the auth endpoints."""

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
)

from app.inputs import RequestModel, storable_text

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128


def normalize_email(email: str) -> str:
    """The form an email is stored and looked up in: one account per address."""
    return email.strip().lower()


EmailAddress = Annotated[EmailStr, AfterValidator(normalize_email)]
_email_form = TypeAdapter(EmailAddress)


def lookup_email(typed: str) -> str:
    """What a login looks up: the stored form when the input is an address at all."""
    try:
        return _email_form.validate_python(typed)
    except ValidationError:
        return normalize_email(typed)


Password = Annotated[
    str,
    Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(storable_text),
]


class RegisterRequest(RequestModel):
    email: EmailAddress
    password: Password
    full_name: Annotated[str | None, Field(max_length=200)] = None


class LoginRequest(RequestModel):
    # Not validated as an address: a malformed one simply matches no account.
    email: Annotated[str, Field(max_length=320)]
    # Longer than any password we accept; refused before it reaches the hasher.
    password: Annotated[str, Field(max_length=1024)]


class RefreshTokenRequest(RequestModel):
    refresh_token: Annotated[str, Field(max_length=512)]


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
