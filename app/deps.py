"""Annotated dependencies for the shared plumbing; areas define their own."""

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.resources import Resources


def _resources(request: Request) -> Resources:
    return request.app.state.resources


def _settings(request: Request) -> Settings:
    return request.app.state.resources.settings


ResourcesDep = Annotated[Resources, Depends(_resources)]
SettingsDep = Annotated[Settings, Depends(_settings)]
