"""Virtual MFA devices with real TOTP (totp.py): CreateVirtualMFADevice,
Enable/Deactivate/ResyncMFADevice, DeleteVirtualMFADevice, ListMFADevices,
ListVirtualMFADevices, GetMFADevice and MFA tags.

The seed is a secret: it is the sealed secret of the device's row, never part of the
document. CreateVirtualMFADevice answers it once, as `Base32StringSeed` and as a PNG
QR code of the otpauth:// URI. EnableMFADevice and ResyncMFADevice want two
consecutive codes, checked against the mamori clock.
(doc: https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html)
"""

from __future__ import annotations

import io
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.iam import repository as repo
from mamori.services.iam import totp
from mamori.services.iam.base import IamOperations, stamp, to_datetime
from mamori.services.iam.users import user_out
from mamori.services.iam.validation import (
    already_exists,
    check_name,
    check_path,
    check_tags,
    delete_conflict,
    limit_exceeded,
    merge_tags,
    no_such_entity,
    paginate,
    remove_tags,
    tag_conditions,
    validation_error,
)

MAX_DEVICES_PER_USER = 8
ENABLE_WINDOW = 2  # steps either side of now for EnableMFADevice
RESYNC_WINDOW = 20  # ResyncMFADevice exists for drifted clocks: look further


def qr_png(text: str) -> bytes:
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=4)
    return buffer.getvalue()


def invalid_code() -> AwsError:
    return AwsError("Authentication code for device is not valid.", code="InvalidAuthenticationCode", status=403)


class MfaDevices(IamOperations):
    def _device(self, ctx: RequestContext, serial: str) -> dict[str, Any]:
        doc = ctx.store.get(serial) if serial.startswith(f"arn:aws:iam::{ctx.account_id}:mfa/") else None
        if doc is None:
            raise no_such_entity(f"VirtualMFADevice with serial number {serial} doesn't exist.")
        return doc

    def _save(self, store: Any, ctx: RequestContext, doc: dict[str, Any]) -> None:
        # Re-seal the seed on every write so an update never drops the secret.
        seed = store.get_secret(doc["SerialNumber"])
        repo.save(store, "mfa", ctx.account_id, doc, secret=seed)

    def _seed(self, ctx: RequestContext, doc: dict[str, Any]) -> bytes:
        secret = ctx.store.get_secret(doc["SerialNumber"])
        if isinstance(secret, bytes):
            secret = secret.decode()
        return totp.from_base32(secret)

    def _check_pair(self, ctx: RequestContext, doc: dict[str, Any], code1: str, code2: str, window: int) -> int:
        counter = totp.find_pair(self._seed(ctx, doc), code1, code2, ctx.time(), window)
        if counter is None or counter <= int(doc.get("LastCounter", -1)):
            raise invalid_code()
        return counter

    def create_virtual_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request["VirtualMFADeviceName"], "virtualMFADeviceName", 226)
        path = check_path(request.get("Path"))
        tags = check_tags(request.get("Tags"))
        serial = repo.entity_arn(ctx.account_id, "mfa", path, name)
        ctx.authorize("iam:CreateVirtualMFADevice", serial, tag_conditions(tags))
        if repo.arn_by_name(ctx.store, ctx.account_id, "mfa", name) or ctx.store.get(serial):
            raise already_exists("MFADevice entity at the same path and name already exists.")
        seed = totp.new_seed()
        doc = {"SerialNumber": serial, "Path": path, "VirtualMFADeviceName": name, "Tags": tags}
        with self.writing(ctx) as store:
            repo.save(store, "mfa", ctx.account_id, doc, secret=totp.base32(seed).encode())
            repo.index(store, ctx.account_id, "mfa", name, serial, None)
        label = f"{name}@{ctx.account_id}"
        device: dict[str, Any] = {
            "SerialNumber": serial,
            "Base32StringSeed": totp.base32(seed).encode(),
            "QRCodePNG": qr_png(totp.otpauth_uri(seed, label)),
        }
        if tags:
            device["Tags"] = tags
        return {"VirtualMFADevice": device}

    def enable_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, serial = request["UserName"], request["SerialNumber"]
        ctx.authorize("iam:EnableMFADevice", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        doc = self._device(ctx, serial)
        if doc.get("UserName"):
            raise already_exists("MFA Device is already in use.")
        if len(repo.mfa_devices(ctx.store, ctx.account_id, user["UserName"])) >= MAX_DEVICES_PER_USER:
            raise limit_exceeded(f"Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}")
        counter = self._check_pair(ctx, doc, request["AuthenticationCode1"], request["AuthenticationCode2"], ENABLE_WINDOW)
        doc.update(UserName=user["UserName"], EnableDate=stamp(ctx), LastCounter=counter)
        with self.writing(ctx) as store:
            self._save(store, ctx, doc)
        return {}

    def resync_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, serial = request["UserName"], request["SerialNumber"]
        ctx.authorize("iam:ResyncMFADevice", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        doc = self._device(ctx, serial)
        if (doc.get("UserName") or "").lower() != user["UserName"].lower():
            raise no_such_entity(f"MFA Device with serial number {serial} not found for user {name}.")
        doc["LastCounter"] = self._check_pair(
            ctx, doc, request["AuthenticationCode1"], request["AuthenticationCode2"], RESYNC_WINDOW
        )
        with self.writing(ctx) as store:
            self._save(store, ctx, doc)
        return {}

    def deactivate_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("UserName") or ctx.principal.user_name or ""
        serial = request["SerialNumber"]
        ctx.authorize("iam:DeactivateMFADevice", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        doc = self._device(ctx, serial)
        if (doc.get("UserName") or "").lower() != user["UserName"].lower():
            raise no_such_entity(f"MFA Device with serial number {serial} not found for user {name}.")
        for member in ("UserName", "EnableDate"):
            doc.pop(member, None)
        with self.writing(ctx) as store:
            self._save(store, ctx, doc)
        return {}

    def delete_virtual_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        serial = request["SerialNumber"]
        ctx.authorize("iam:DeleteVirtualMFADevice", serial)
        doc = self._device(ctx, serial)
        if doc.get("UserName"):
            raise delete_conflict("MFA VirtualDevice in use. Must deactivate first.")
        with self.writing(ctx) as store:
            store.delete(serial)
            repo.unindex(store, ctx.account_id, "mfa", doc["VirtualMFADeviceName"], None)
        return {}

    def list_mfa_devices(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("UserName") or ctx.principal.user_name
        if not name:
            raise validation_error("userName", None, "Must specify userName when calling with non-User credentials")
        ctx.authorize("iam:ListMFADevices", self.arn_for(ctx, "user", name))
        user = self.require(ctx, "user", name)
        devices = sorted(repo.mfa_devices(ctx.store, ctx.account_id, user["UserName"]), key=lambda d: d["EnableDate"])
        return paginate(
            devices,
            request,
            "MFADevices",
            lambda d: {"UserName": user["UserName"], "SerialNumber": d["SerialNumber"], "EnableDate": to_datetime(d["EnableDate"])},
        )

    def list_virtual_mfa_devices(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListVirtualMFADevices", f"arn:aws:iam::{ctx.account_id}:mfa/")
        status = request.get("AssignmentStatus") or "Any"
        devices = ctx.store.list("iam:mfa", account_id=ctx.account_id)
        if status == "Assigned":
            devices = [d for d in devices if d.get("UserName")]
        elif status == "Unassigned":
            devices = [d for d in devices if not d.get("UserName")]
        devices.sort(key=lambda d: d["SerialNumber"])

        def render(d: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"SerialNumber": d["SerialNumber"]}
            if d.get("UserName"):
                user = repo.user(ctx.store, ctx.account_id, d["UserName"])
                if user:
                    out["User"] = user_out(user, full=False)
                out["EnableDate"] = to_datetime(d["EnableDate"])
            if d.get("Tags"):
                out["Tags"] = list(d["Tags"])
            return out

        return paginate(devices, request, "VirtualMFADevices", render)

    def get_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        serial = request["SerialNumber"]
        name = request.get("UserName") or ctx.principal.user_name or ""
        ctx.authorize("iam:GetMFADevice", self.arn_for(ctx, "user", name) if name else serial)
        doc = self._device(ctx, serial)
        if not doc.get("UserName") or (name and doc["UserName"].lower() != name.lower()):
            raise no_such_entity(f"MFA Device with serial number {serial} not found.")
        return {"UserName": doc["UserName"], "SerialNumber": serial, "EnableDate": to_datetime(doc["EnableDate"])}

    # -- tags -------------------------------------------------------------------------------

    def tag_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        tags = check_tags(request["Tags"])
        ctx.authorize("iam:TagMFADevice", request["SerialNumber"], tag_conditions(tags))
        doc = self._device(ctx, request["SerialNumber"])
        doc["Tags"] = merge_tags(doc.get("Tags", []), tags)
        with self.writing(ctx) as store:
            self._save(store, ctx, doc)
        return {}

    def untag_mfa_device(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        keys = list(request["TagKeys"])
        ctx.authorize("iam:UntagMFADevice", request["SerialNumber"], {"aws:TagKeys": keys})
        doc = self._device(ctx, request["SerialNumber"])
        doc["Tags"] = remove_tags(doc.get("Tags", []), keys)
        with self.writing(ctx) as store:
            self._save(store, ctx, doc)
        return {}

    def list_mfa_device_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListMFADeviceTags", request["SerialNumber"])
        doc = self._device(ctx, request["SerialNumber"])
        return paginate(doc.get("Tags", []), request, "Tags")
