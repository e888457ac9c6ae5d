"""SNS list paging: an opaque NextToken (the offset), 100 items a page unless the
operation takes its own MaxResults."""

from __future__ import annotations

from typing import Any

from mamori.errors import error

PAGE = 100


def page(items: list[Any], request: dict[str, Any], key: str, *, token: str = "NextToken",
         size: int = PAGE) -> dict[str, Any]:
    """{key: one page of items[, token: where the next page starts]}."""
    try:
        start = int(request.get(token) or 0)
    except ValueError:
        raise error("InvalidParameter", "Invalid parameter: NextToken", status=400) from None
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out[token] = str(start + size)
    return out
