"""ecommerce-payment: an async shop API."""
