"""The reset page: static HTML read once, served with a strict policy.

The token never passes through the server's HTML: the page's script reads it
from the address bar. The inline script and style are allowed by their hash,
so the policy stays strict without a nonce per response.
"""

import base64
import hashlib
import re
from importlib.resources import files


def _hash_source(html: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)
    if match is None:
        raise RuntimeError(f"page.html has no inline <{tag}>")
    digest = hashlib.sha256(match.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _content_security_policy(html: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {_hash_source(html, 'script')}",
            f"style-src {_hash_source(html, 'style')}",
            "connect-src 'self'",
            # The script submits; a native submission would put the password in a URL.
            "form-action 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


PAGE_HTML = files(__package__).joinpath("page.html").read_text(encoding="utf-8")

PAGE_HEADERS = {
    "Content-Security-Policy": _content_security_policy(PAGE_HTML),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
