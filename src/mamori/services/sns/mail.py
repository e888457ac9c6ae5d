"""The local mailbox: email/email-json deliveries kept in the resource store (kind
"sns-mail"), read by `mailbox(runtime, address)` for the admin API and `mamori mail`."""

from __future__ import annotations

from typing import Any

KIND = "sns-mail"


def deliver(store: Any, account: str, region: str, mail_id: str, doc: dict[str, Any]) -> None:
    store.put(f"mamori:sns-mail:{mail_id}", doc, kind=KIND, account_id=account, region=region)


def mailbox(runtime: Any, address: str | None = None) -> list[dict[str, Any]]:
    mails = runtime.store.list(KIND)
    if address is not None:
        mails = [m for m in mails if m.get("to", "").lower() == address.lower()]
    return mails
