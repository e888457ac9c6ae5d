"""Email to a topic is relayed to an SMTP server (aiosmtpd) when MAMORI_SMTP_RELAY is set."""

from __future__ import annotations

import time

from aiosmtpd.controller import Controller


class Collect:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


def test_email_relayed_to_smtp_server(mamori, monkeypatch):
    handler = Collect()
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("MAMORI_SMTP_RELAY", f"127.0.0.1:{port}")
        sns = mamori.client("sns")
        arn = sns.create_topic(Name="relay")["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="oncall@example.com")
        deadline = time.monotonic() + 10
        while not handler.messages and time.monotonic() < deadline:
            time.sleep(0.05)  # real SMTP I/O in another thread, not mamori time
        rcpts, content = handler.messages[0]
        assert rcpts == ["oncall@example.com"]
        import email

        parsed = email.message_from_string(content)
        assert parsed["Subject"] == "AWS Notification - Subscription Confirmation"
        assert arn in parsed.get_payload(decode=True).decode()
    finally:
        controller.stop()
