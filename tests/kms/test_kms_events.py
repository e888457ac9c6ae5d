"""KMS service events reach EventBridge's default bus: "KMS CMK Rotation", "KMS CMK
Deletion", "KMS Imported Key Material Expiration" (detail `key-id`), delivered here by a
rule to an API destination (a local HTTP endpoint that records what it receives).
https://docs.aws.amazon.com/kms/latest/developerguide/kms-events.html"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

DAY = 86400


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[dict] = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                rec.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, detail_type: str, key_id: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for b in list(self.bodies):
                if b.get("detail-type") == detail_type and b["detail"].get("key-id") == key_id:
                    return b
            time.sleep(0.02)
        raise AssertionError(f"no {detail_type} event for {key_id}: {[b.get('detail-type') for b in self.bodies]}")


def test_lifecycle_events_on_the_bus(mamori, mamori_clock):
    events, kms = mamori.client("events"), mamori.client("kms")
    rec = Recorder()
    try:
        conn = events.create_connection(Name="kms-events", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})["ConnectionArn"]
        dest = events.create_api_destination(Name="kms-events", ConnectionArn=conn, InvocationEndpoint=rec.url,
                                             HttpMethod="POST")["ApiDestinationArn"]
        events.put_rule(Name="kms-lifecycle", EventPattern=json.dumps({
            "source": ["aws.kms"], "detail-type": ["KMS CMK Rotation", "KMS CMK Deletion",
                                                   "KMS Imported Key Material Expiration"]}))
        events.put_targets(Rule="kms-lifecycle", Targets=[{"Id": "d", "Arn": dest}])

        rotating = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=rotating, RotationPeriodInDays=90)
        doomed = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
        imported = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        params = kms.get_parameters_for_import(KeyId=imported, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                               WrappingKeySpec="RSA_4096")
        public = serialization.load_der_public_key(params["PublicKey"])
        h = hashes.SHA256()
        wrapped = public.encrypt(os.urandom(32), padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))
        kms.import_key_material(KeyId=imported, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                                ValidTo=datetime.fromtimestamp(mamori_clock.now(), timezone.utc) + timedelta(days=3))
        mamori_clock.advance(91 * DAY)
        for detail_type, key_id in (("KMS CMK Rotation", rotating), ("KMS CMK Deletion", doomed),
                                    ("KMS Imported Key Material Expiration", imported)):
            event = rec.wait_for(detail_type, key_id)
            assert event["source"] == "aws.kms" and event["resources"][0].endswith(key_id)
            assert event["account"] == mamori.account_id
    finally:
        rec.server.shutdown()
