"""Demo catalog for `python -m app seed-demo`: loaded only into an empty catalog."""

import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Product

logger = logging.getLogger("app.seed")

# (name, description, price in minor units, stock)
DEMO_PRODUCTS: list[tuple[str, str, int, int]] = [
    ("Espresso Beans 1kg", "Dark roast, notes of cocoa and hazelnut.", 2490, 40),
    ("Pour-Over Kettle", "Gooseneck kettle with a thermometer, 1 litre.", 4900, 15),
    ("Ceramic Dripper", "Cone dripper for size 02 filters.", 2200, 25),
    ("Paper Filters (100)", "Unbleached size 02 paper filters.", 599, 120),
    ("Burr Grinder", "Hand grinder with steel conical burrs.", 8900, 10),
    ("Milk Frother", "Battery frother for foam in seconds.", 1499, 60),
    ("Travel Mug", "Insulated steel mug, keeps drinks hot 6 hours.", 2799, 35),
    ("Espresso Cups (set of 4)", "Thick porcelain cups, 80 ml each.", 3200, 20),
    ("Digital Scale", "0.1 g precision with a built-in timer.", 3499, 18),
    ("Cold Brew Jar", "1.5 litre jar with a fine mesh filter.", 2999, 22),
    ("Green Tea Sencha 100g", "Steamed Japanese green tea, first flush.", 1250, 50),
    ("Earl Grey 100g", "Black tea with bergamot oil.", 990, 55),
    ("Chai Spice Mix", "Cinnamon, cardamom, ginger and clove.", 850, 45),
    ("Teapot 800ml", "Cast iron teapot with a steel infuser.", 5400, 8),
    ("Matcha Whisk", "Bamboo whisk with 100 prongs.", 1800, 30),
    ("Honey Jar 500g", "Raw wildflower honey.", 1100, 40),
    ("Biscotti Tin", "Almond biscotti, 300 g.", 799, 70),
    ("Dark Chocolate Bar", "72% cocoa, single origin.", 450, 150),
    ("Coffee Canister", "Airtight canister with a one-way valve.", 2100, 28),
    ("Barista Apron", "Waxed canvas apron with leather straps.", 3900, 12),
    ("Tamper 58mm", "Stainless steel espresso tamper.", 2600, 16),
    ("Knock Box", "Rubber-lined box for spent espresso pucks.", 1950, 14),
    ("Decaf Beans 500g", "Swiss water process, medium roast.", 1590, 33),
    ("Gift Card Sleeve", "A paper sleeve for gifts, free with any order.", 0, 500),
]


async def seed_demo_catalog(session: AsyncSession, currency: str) -> int:
    """Add the demo products if the catalog is empty; return how many were added."""
    existing = await session.scalar(select(func.count()).select_from(Product))
    if existing:
        logger.info("seed.skipped existing_products=%s", existing)
        return 0
    session.add_all(
        Product(
            name=name, description=text, price=price, currency=currency, stock=stock
        )
        for name, text, price, stock in DEMO_PRODUCTS
    )
    await session.flush()
    logger.info("seed.done products=%s", len(DEMO_PRODUCTS))
    return len(DEMO_PRODUCTS)
