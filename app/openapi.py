"""The OpenAPI document, with the 422 body this API really sends."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.errors import ValidationErrorBody


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            _describe_validation_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build


def _describe_validation_errors(schema: dict[str, Any]) -> None:
    """FastAPI documents its own 422 shape; ours is `{detail, code, errors}`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ValidationErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.update(body.pop("$defs", {}))
    components["HTTPValidationError"] = body
    components.pop("ValidationError", None)
