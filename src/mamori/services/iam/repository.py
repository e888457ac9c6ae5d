"""IAM state in the resource store: the read API the authorizer and STS use, and the
few write helpers the IAM provider uses to keep the indexes and the version right.

Storage layout (IAM is global per account: region "" everywhere). Every entity is a
document keyed by its real ARN, shaped like what the Get* operation returns (timestamps
as ISO-8601 strings) plus a few private members the API never shows as such:

    kind                  key (ARN)                                   document
    iam:user              arn:aws:iam::ACCT:user/PATH/NAME            User + Groups [names],
                                                                      AttachedPolicies [arns],
                                                                      InlinePolicies {name: text}
    iam:group             arn:aws:iam::ACCT:group/PATH/NAME           Group + AttachedPolicies,
                                                                      InlinePolicies
    iam:role              arn:aws:iam::ACCT:role/PATH/NAME            Role (AssumeRolePolicyDocument
                                                                      as plain JSON text) +
                                                                      AttachedPolicies, InlinePolicies
    iam:policy            arn:aws:iam::ACCT:policy/PATH/NAME          Policy + Versions
                                                                      {"v1": {Document, CreateDate}},
                                                                      NextVersion (int)
    iam:instance-profile  arn:aws:iam::ACCT:instance-profile/PATH/N   InstanceProfile with Roles
                                                                      as role names
    iam:mfa               arn:aws:iam::ACCT:mfa/PATH/NAME             VirtualMFADevice (SerialNumber,
                                                                      EnableDate, UserName, Tags);
                                                                      the TOTP seed is the sealed
                                                                      secret of this row
    iam:login-profile     arn:aws:iam::ACCT:mamori/login-profile/USER LoginProfile; the password
                                                                      hash is the sealed secret
    iam:account           arn:aws:iam::ACCT:mamori/account            AccountAliases, PasswordPolicy,
                                                                      CredentialReport state
    iam:credential-report arn:aws:iam::ACCT:mamori/credential-report  GeneratedTime, Content (CSV)
    iam:slr-deletion      arn:aws:iam::ACCT:mamori/slr-deletion/TASK  DeletionTaskId, Status
    iam:name              arn:aws:iam::ACCT:mamori/name/FAMILY/name   {"arn": ...}: the name index
    iam:id                arn:aws:iam::ACCT:mamori/id/UNIQUEID        {"arn": ..., "family": ...}

Names are unique per account and family without regard to case (IAM: "names are not
distinguished by case"), so the name index is keyed by the lowercased name; a lookup by
name is two point reads, never a scan. Unique ids (AIDA/AROA/AGPA/ANPA/AIPA...) have an
index too: trust policies and STS name principals by unique id.

Access keys are not documents: they live in the credential table (`store.put_credential`,
secret sealed at rest), with `Credential.principal` the IAM user's `Principal.to_json()`
and `Credential.status` Active / Inactive.

AWS managed policies (arn:aws:iam::aws:policy/NAME) are not stored: they are data files
in `managed_policies/` served in every account (`aws_managed_policy`).

For STS: `role` / `role_by_id` (trust policy in AssumeRolePolicyDocument,
MaxSessionDuration), `record_role_use` (RoleLastUsed), `check_mfa_code` (TokenCode of
an MFA device, replay-safe).

`version(store, account)` is a counter bumped by every IAM write (`bump`), so the
authorizer can cache compiled policy sets per account and drop them cheaply. It starts
from a time-based value so a reset store never repeats a version an old cache saw.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy"

FAMILIES = ("user", "group", "role", "policy", "instance-profile", "mfa")
KIND = {
    "user": "iam:user",
    "group": "iam:group",
    "role": "iam:role",
    "policy": "iam:policy",
    "instance-profile": "iam:instance-profile",
    "mfa": "iam:mfa",
    "server-certificate": "iam:server-certificate",
}


# -- keys -------------------------------------------------------------------------------


def entity_arn(account: str, family: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{family}{path}{name}"


def _name_key(account: str, family: str, name: str) -> str:
    return f"arn:aws:iam::{account}:mamori/name/{family}/{name.lower()}"


def _id_key(account: str, unique_id: str) -> str:
    return f"arn:aws:iam::{account}:mamori/id/{unique_id}"


def login_profile_key(account: str, user_name: str) -> str:
    return f"arn:aws:iam::{account}:mamori/login-profile/{user_name.lower()}"


def account_key(account: str) -> str:
    return f"arn:aws:iam::{account}:mamori/account"


def account_of(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) > 4 else ""


def family_of(arn: str) -> str:
    """'arn:aws:iam::1:user/a/b' -> 'user'."""
    parts = arn.split(":", 5)
    return parts[5].split("/", 1)[0] if len(parts) > 5 else ""


# -- reads ------------------------------------------------------------------------------


def by_name(store: Any, account: str, family: str, name: str) -> dict[str, Any] | None:
    """The document of the `family` entity called `name` (any case), or None."""
    entry = store.get(_name_key(account, family, name))
    if not entry:
        return None
    return store.get(entry["arn"])


def arn_by_name(store: Any, account: str, family: str, name: str) -> str | None:
    entry = store.get(_name_key(account, family, name))
    return entry["arn"] if entry else None


def by_id(store: Any, account: str, unique_id: str) -> dict[str, Any] | None:
    """The document of the user / role / group / policy / instance profile with this
    unique id (AIDA..., AROA..., ...), or None."""
    entry = store.get(_id_key(account, unique_id))
    return store.get(entry["arn"]) if entry else None


def user(store: Any, account: str, name: str) -> dict[str, Any] | None:
    return by_name(store, account, "user", name)


def user_by_id(store: Any, account: str, user_id: str) -> dict[str, Any] | None:
    doc = by_id(store, account, user_id)
    return doc if doc and "UserId" in doc else None


def role(store: Any, account: str, name: str) -> dict[str, Any] | None:
    return by_name(store, account, "role", name)


def role_by_id(store: Any, account: str, role_id: str) -> dict[str, Any] | None:
    doc = by_id(store, account, role_id)
    return doc if doc and "RoleId" in doc else None


def group(store: Any, account: str, name: str) -> dict[str, Any] | None:
    return by_name(store, account, "group", name)


def instance_profile(store: Any, account: str, name: str) -> dict[str, Any] | None:
    return by_name(store, account, "instance-profile", name)


def groups_of_user(store: Any, account: str, name: str) -> list[dict[str, Any]]:
    """The group documents the user belongs to, in the order they were joined."""
    doc = user(store, account, name)
    if not doc:
        return []
    found = []
    for group_name in doc.get("Groups", []):
        g = group(store, account, group_name)
        if g:
            found.append(g)
    return found


def entity(store: Any, arn: str) -> dict[str, Any] | None:
    return store.get(arn)


def inline_policies(store: Any, entity_arn: str) -> dict[str, str]:
    """{policy name: policy JSON text} of a user, group or role."""
    doc = store.get(entity_arn)
    return dict(doc.get("InlinePolicies", {})) if doc else {}


def attached_policy_arns(store: Any, entity_arn: str) -> list[str]:
    doc = store.get(entity_arn)
    return list(doc.get("AttachedPolicies", [])) if doc else []


def permissions_boundary(store: Any, entity_arn: str) -> str | None:
    """The ARN of the managed policy set as the user's or role's boundary, or None."""
    doc = store.get(entity_arn)
    boundary = (doc or {}).get("PermissionsBoundary")
    return boundary["PermissionsBoundaryArn"] if boundary else None


def tags(store: Any, arn: str) -> dict[str, str]:
    doc = store.get(arn)
    return {t["Key"]: t["Value"] for t in (doc or {}).get("Tags", [])}


def managed_policy(store: Any, arn: str, version_id: str | None = None) -> dict[str, Any] | None:
    """A managed policy (customer or AWS) with the text of its default version (or of
    `version_id`): {"Arn", "PolicyName", "PolicyId", "DefaultVersionId", "VersionId",
    "Document"} or None."""
    doc = aws_managed_policy(arn) if arn.startswith(AWS_POLICY_PREFIX + "/") else store.get(arn)
    if not doc:
        return None
    vid = version_id or doc["DefaultVersionId"]
    version_doc = doc["Versions"].get(vid)
    if version_doc is None:
        return None
    return {
        "Arn": doc["Arn"],
        "PolicyName": doc["PolicyName"],
        "PolicyId": doc["PolicyId"],
        "DefaultVersionId": doc["DefaultVersionId"],
        "VersionId": vid,
        "Document": version_doc["Document"],
    }


def mfa_devices(store: Any, account: str, user_name: str) -> list[dict[str, Any]]:
    """The MFA devices enabled for the user (documents with SerialNumber, EnableDate)."""
    low = user_name.lower()
    return [
        d
        for d in store.list("iam:mfa", account_id=account)
        if d.get("UserName", "").lower() == low and d.get("EnableDate")
    ]


def account_settings(store: Any, account: str) -> dict[str, Any]:
    return store.get(account_key(account)) or {}


def version(store: Any, account: str) -> int:
    """The account's IAM write counter (see module doc)."""
    return int(store.get_meta(f"iam:version:{account}", 0) or 0)


# -- AWS managed policies -------------------------------------------------------------


@lru_cache(maxsize=1)
def _aws_managed() -> dict[str, dict[str, Any]]:
    """arn -> policy document as stored, from `managed_policies/*.json` (cached: the
    files are package data, not state)."""
    found: dict[str, dict[str, Any]] = {}
    folder = resources.files("mamori.services.iam") / "managed_policies"
    if not folder.is_dir():
        return found
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".json"):
            continue
        data = json.loads(item.read_text())
        name = data["PolicyName"]
        path = data.get("Path", "/")
        arn = f"{AWS_POLICY_PREFIX}{path}{name}"
        vid = data.get("DefaultVersionId", "v1")
        created = data.get("CreateDate", "2015-02-06T18:39:46Z")
        updated = data.get("UpdateDate", created)
        found[arn] = {
            "PolicyName": name,
            "PolicyId": data["PolicyId"],
            "Arn": arn,
            "Path": path,
            "DefaultVersionId": vid,
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "Description": data.get("Description", ""),
            "CreateDate": created,
            "UpdateDate": updated,
            "Tags": [],
            "Versions": {vid: {"Document": json.dumps(data["Document"], indent=4), "CreateDate": updated}},
            "NextVersion": int(vid[1:]) + 1,
        }
    return found


def aws_managed_policy(arn: str) -> dict[str, Any] | None:
    doc = _aws_managed().get(arn)
    return json.loads(json.dumps(doc)) if doc else None  # callers may mutate


def aws_managed_policies() -> list[dict[str, Any]]:
    return [json.loads(json.dumps(d)) for d in _aws_managed().values()]


# -- writes (the IAM provider only) ---------------------------------------------------


def bump(store: Any, account: str) -> int:
    key = f"iam:version:{account}"
    current = store.get_meta(key, None)
    nxt = (int(current) + 1) if current else time.time_ns()
    store.set_meta(key, nxt)
    return nxt


def save(store: Any, family: str, account: str, doc: dict[str, Any], *, secret: Any = None) -> None:
    """Write an entity document under its ARN (doc["Arn"], or SerialNumber for MFA)."""
    arn = doc.get("Arn") or doc["SerialNumber"]
    if secret is not None:
        store.put(arn, doc, kind=KIND[family], account_id=account, region="", secret=secret)
    else:
        store.put(arn, doc, kind=KIND[family], account_id=account, region="")


def index(store: Any, account: str, family: str, name: str, arn: str, unique_id: str | None) -> None:
    store.put(_name_key(account, family, name), {"arn": arn}, kind="iam:name", account_id=account, region="")
    if unique_id:
        store.put(_id_key(account, unique_id), {"arn": arn, "family": family}, kind="iam:id", account_id=account, region="")


def unindex(store: Any, account: str, family: str, name: str, unique_id: str | None) -> None:
    store.delete(_name_key(account, family, name))
    if unique_id:
        store.delete(_id_key(account, unique_id))


def list_family(store: Any, account: str, family: str) -> list[dict[str, Any]]:
    return list(store.list(KIND[family], account_id=account))


def iter_attached(store: Any, account: str) -> Iterable[tuple[str, dict[str, Any]]]:
    """(family, doc) of every user, group and role of the account."""
    for family in ("user", "group", "role"):
        for doc in list_family(store, account, family):
            yield family, doc


def record_role_use(store: Any, account: str, role_name: str, when_iso: str, region: str) -> None:
    """STS calls this when a role is assumed (GetRole's `RoleLastUsed`). Not a policy
    change, so the version is not bumped."""
    doc = role(store, account, role_name)
    if doc is None:
        return
    doc["RoleLastUsed"] = {"LastUsedDate": when_iso, "Region": region}
    store.put(doc["Arn"], doc, kind=KIND["role"], account_id=account, region="")


def check_mfa_code(store: Any, serial: str, code: str, t: float, window: int = 1) -> bool:
    """STS's MFA check (`SerialNumber` + `TokenCode`): True when `code` is the device's
    TOTP code within `window` 30-second steps of `t` (the mamori clock) and newer than
    the last code accepted (a code is good once). Records the step it accepted."""
    from mamori.services.iam import totp

    doc = store.get(serial)
    if not doc or not doc.get("EnableDate"):
        return False
    secret = store.get_secret(serial)
    if not secret:
        return False
    seed = totp.from_base32(secret.decode() if isinstance(secret, bytes) else secret)
    now = totp.counter_at(t)
    for counter in range(now - window, now + window + 1):
        if counter > int(doc.get("LastCounter", -1)) and totp.hotp(seed, counter) == code:
            doc["LastCounter"] = counter
            store.put(serial, doc, kind=KIND["mfa"], account_id=account_of(serial), region="", secret=secret)
            return True
    return False
