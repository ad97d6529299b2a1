"""Every ORM model, in one package so that areas import them without cycles."""

from app.models.base import Base, utcnow
from app.models.cart import CartItem
from app.models.catalog import CatalogStamp, Product
from app.models.idempotency import IdempotencyRecord
from app.models.job import Job, JobStatus
from app.models.order import Order, OrderItem, OrderStatus
from app.models.payment import Payment, PaymentStatus
from app.models.user import PasswordResetToken, RefreshToken, User

__all__ = [
    "Base",
    "CartItem",
    "CatalogStamp",
    "IdempotencyRecord",
    "Job",
    "JobStatus",
    "Order",
    "OrderItem",
    "OrderStatus",
    "PasswordResetToken",
    "Payment",
    "PaymentStatus",
    "Product",
    "RefreshToken",
    "User",
    "utcnow",
]
