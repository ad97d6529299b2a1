"""What each scenario sends: lists of calls the load driver picks from at random."""

import json
import random

from bench.data import COLOURS, MATERIALS, PASSWORD, THINGS, user_email
from bench.load import Call

PAGE_SIZE = 20
_JSON = {"Content-Type": "application/json"}
# The deep pages: offsets spread over the last 1,000 products.
_DEEP_SPAN = 1000


def catalog_list() -> list[Call]:
    return [Call("GET", "/products/")]


def product_detail(products: int) -> list[Call]:
    """Every product, equally likely: a cache cannot just keep a few."""
    return [Call("GET", f"/products/{id_}/") for id_ in range(1, products + 1)]


def search_terms(products: int) -> list[str]:
    """About 120 distinct searches: words, their beginnings, item numbers, misses."""
    chooser = random.Random(5)
    words = COLOURS + MATERIALS + THINGS
    beginnings = sorted({word[:3] for word in words})
    numbers = [
        f"{n:05d}" for n in chooser.sample(range(1, products + 1), min(40, products))
    ]
    misses = ["zebra", "quartz", "plum", "velvet", "xylophone", "kiwi"]
    return words + beginnings + numbers + misses


def search(products: int) -> list[Call]:
    """Each search equally likely: many are rare enough to miss a cache."""
    return [Call("GET", f"/products/?q={term}") for term in search_terms(products)]


def deep_pages(products: int) -> list[Call]:
    """The pages a phone reaches scrolling through the last 1,000 products."""
    last = max(products - PAGE_SIZE, 0)
    first = max(last - _DEEP_SPAN, 0)
    offsets = range(last, first - 1, -PAGE_SIZE)
    return [Call("GET", f"/products/?offset={offset}") for offset in offsets]


def add_to_cart(tokens: list[str], products: int, per_user: int = 30) -> list[Call]:
    chooser = random.Random(7)
    return [
        Call(
            "POST",
            "/cart/items/",
            {**_JSON, "Authorization": f"Bearer {token}"},
            json.dumps({"product_id": chooser.randint(1, products), "quantity": 1}),
        )
        for token in tokens
        for _ in range(per_user)
    ]


def login(users: int) -> list[Call]:
    return [
        Call(
            "POST",
            "/login/",
            _JSON,
            json.dumps({"email": user_email(index), "password": PASSWORD}),
        )
        for index in range(users)
    ]


def browsing_mix(products: int, tokens: list[str]) -> list[Call]:
    """Mostly reading, over the whole catalog, and some cart filling.

    In shares of about 40% first page, 40% product details, 10% searches,
    5% adds to a cart and 2% deep pages (rare, and the dearest to answer).
    """
    chooser = random.Random(11)
    share = max(products, 100) // 10
    carts = add_to_cart(tokens, products, per_user=share // max(len(tokens), 1) + 1)
    return (
        catalog_list() * share * 4
        + chooser.choices(product_detail(products), k=share * 4)
        + chooser.choices(search(products), k=share)
        + carts[: share // 2]
        + chooser.choices(deep_pages(products), k=share // 5)
    )
