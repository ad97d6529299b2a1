"""Endpoints of this area."""

from app.routing import ShopRouter

router = ShopRouter()
