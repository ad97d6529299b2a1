"""The ceiling: bare FastAPI serving the service's own answers from memory.

`uvicorn bench.ceiling:app`, with `BENCH_CEILING_PAGE` naming a JSON file of
the service's first catalog page and `BENCH_CEILING_PRODUCTS` one of all its
products. Answers go through the same response models as the service's: the
framework's speed with no database, cache or middleware in the way.
"""

import os
from pathlib import Path

from fastapi import FastAPI, HTTPException
from pydantic import TypeAdapter

from app.catalog.schemas import ProductOut, ProductPage

PAGE = ProductPage.model_validate_json(
    Path(os.environ["BENCH_CEILING_PAGE"]).read_bytes()
)
PRODUCTS = {
    product.id: product
    for product in TypeAdapter(list[ProductOut]).validate_json(
        Path(os.environ["BENCH_CEILING_PRODUCTS"]).read_bytes()
    )
}

app = FastAPI(title="ceiling")


@app.get("/products/")
async def list_products() -> ProductPage:
    """The first page, from memory."""
    return PAGE


@app.get("/products/{product_id}/")
async def get_product(product_id: int) -> ProductOut:
    """One product, from memory."""
    product = PRODUCTS.get(product_id)
    if product is None:
        raise HTTPException(status_code=404, detail="Product not found")
    return product
