"""The local mailbox: email/email-json deliveries kept in the resource store (kind
"sns-mail"), read by `mailbox(runtime, address)` for the admin API and `mamori mail`."""

from __future__ import annotations

from typing import Any

KIND = "sns-mail"


def relay(doc: dict[str, Any], sender: str = "no-reply@sns.amazonaws.com") -> None:
    """Relay one mail to the SMTP server named by MAMORI_SMTP_RELAY (host:port), in a
    daemon thread so the event loop never waits on SMTP. Relay failures are dropped: the
    local mailbox keeps the mail."""
    import os
    import threading

    target = os.environ.get("MAMORI_SMTP_RELAY", "")
    if not target:
        return

    def send() -> None:
        import smtplib
        from email.message import EmailMessage

        host, _, port = target.rpartition(":")
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, doc["to"], doc["subject"]
        msg.set_content(doc["body"])
        try:
            with smtplib.SMTP(host or "localhost", int(port or 25), timeout=10) as smtp:
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException):
            pass

    threading.Thread(target=send, name="sns-smtp-relay", daemon=True).start()


def deliver(store: Any, account: str, region: str, mail_id: str, doc: dict[str, Any]) -> None:
    store.put(f"mamori:sns-mail:{mail_id}", doc, kind=KIND, account_id=account, region=region, log=False)
    relay(doc, doc.get("from") or "no-reply@sns.amazonaws.com")


def mailbox(runtime: Any, address: str | None = None) -> list[dict[str, Any]]:
    mails = runtime.store.list(KIND)
    if address is not None:
        mails = [m for m in mails if m.get("to", "").lower() == address.lower()]
    return mails
