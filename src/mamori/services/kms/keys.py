"""KMS key records: specs and algorithms, ids and ARNs, the default key policy, state
checks with AWS's messages, and where keys, aliases and grants live in the store.

    kind "kms-key"    arn = key ARN; doc = {"KeyMetadata", "Policy", "Tags", "Rotation",
                      "Rotations", "Materials" (ids only), "Import"}; secret = JSON
                      {"current": material id, "materials": {id: hex}} (sealed)
    kind "kms-alias"  arn = alias ARN
    kind "kms-grant"  arn = key ARN + "/grant/" + grant id

Facts: https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
https://docs.aws.amazon.com/kms/latest/developerguide/asymmetric-key-specs.html
"""

from __future__ import annotations

import json
from typing import Any

from mamori.errors import AwsError, error

KEY, ALIAS, GRANT = "kms-key", "kms-alias", "kms-grant"

RSA_SIGN = [f"RSASSA_{p}_SHA_{n}" for p in ("PSS", "PKCS1_V1_5") for n in (256, 384, 512)]
RSA_ENCRYPT = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
ECDSA = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384", "ECC_NIST_P521": "ECDSA_SHA_512",
         "ECC_SECG_P256K1": "ECDSA_SHA_256"}
USAGES: dict[str, list[str]] = {
    "SYMMETRIC_DEFAULT": ["ENCRYPT_DECRYPT"],
    **{f"RSA_{n}": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"] for n in (2048, 3072, 4096)},
    **{k: ["SIGN_VERIFY", "KEY_AGREEMENT"] for k in ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521")},
    "ECC_SECG_P256K1": ["SIGN_VERIFY"],
    **{f"HMAC_{n}": ["GENERATE_VERIFY_MAC"] for n in (224, 256, 384, 512)},
    "ECC_NIST_EDWARDS25519": ["SIGN_VERIFY"],
    **{f"ML_DSA_{n}": ["SIGN_VERIFY"] for n in (44, 65, 87)},
}
SIGNING_OTHER = {"ECC_NIST_EDWARDS25519": ["ED25519_SHA_512", "ED25519_PH_SHA_512"],
                 **{f"ML_DSA_{n}": ["ML_DSA_SHAKE_256"] for n in (44, 65, 87)}}


def err(code: str, message: str, status: int = 400) -> AwsError:
    return error(code, message, status=status)


def algorithms(spec: str, usage: str) -> dict[str, list[str]]:
    if usage == "ENCRYPT_DECRYPT":
        return {"EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"] if spec == "SYMMETRIC_DEFAULT" else RSA_ENCRYPT}
    if usage == "SIGN_VERIFY":
        if spec in SIGNING_OTHER:
            return {"SigningAlgorithms": SIGNING_OTHER[spec]}
        return {"SigningAlgorithms": RSA_SIGN if spec.startswith("RSA") else [ECDSA[spec]]}
    if usage == "KEY_AGREEMENT":
        return {"KeyAgreementAlgorithms": ["ECDH"]}
    return {"MacAlgorithms": [f"HMAC_SHA_{spec.split('_')[1]}"]}


def default_policy(account: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }],
    }, indent=2)


# Predefined aliases of AWS managed keys: `alias/aws/<service>` names a key KMS creates
# for that service on first use ("If you specify a predefined AWS alias (an AWS alias
# with no key ID), KMS associates the alias with an AWS managed key", DescribeKey's
# KeyId). The key serves only calls that come through its service.
# https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key
MANAGED_ALIAS_SERVICES = frozenset({
    "acm", "backup", "dynamodb", "ebs", "elasticfilesystem", "es", "glue", "kinesis", "lambda", "logs", "rds",
    "redshift", "s3", "secretsmanager", "sns", "sqs", "ssm", "xray",
})
# The service principal a managed alias's key trusts, where it differs from the name.
_VIA_NAMES = {"ebs": "ec2"}


def managed_service(alias: str) -> str | None:
    """`alias/aws/sqs` -> "sqs" for the predefined aliases, else None."""
    if not alias.startswith("alias/aws/"):
        return None
    name = alias[len("alias/aws/"):]
    return name if name in MANAGED_ALIAS_SERVICES else None


def managed_via(service: str) -> str:
    return _VIA_NAMES.get(service, service)


def managed_policy(account: str, region: str, service: str) -> str:
    """The key policy of an AWS managed key: every principal of the account may use it
    through its service; the account may read its metadata directly."""
    via = managed_via(service)
    return json.dumps({
        "Version": "2012-10-17",
        "Id": f"auto-{service}-1",
        "Statement": [
            {
                "Sid": f"Allow access through {service} for all principals in the account that are authorized to use {service}",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
                           "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": account,
                                               "kms:ViaService": f"{via}.{region}.amazonaws.com"}},
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }, indent=2)


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:kms:{region}:{account}:{name}"


def state_error(meta: dict[str, Any]) -> AwsError:
    arn, state = meta["Arn"], meta["KeyState"]
    if state == "Disabled":
        return err("DisabledException", f"{arn} is disabled.")
    text = {"PendingDeletion": "pending deletion", "PendingImport": "pending import",
            "PendingReplicaDeletion": "pending replica deletion"}.get(state, state.lower())
    return err("KMSInvalidStateException", f"{arn} is {text}.")


def require_state(meta: dict[str, Any], allowed: tuple[str, ...]) -> None:
    if meta["KeyState"] not in allowed:
        raise state_error(meta)


USE = ("Enabled",)
MANAGE = ("Enabled", "Disabled", "PendingImport")  # CreateAlias, tags, description, ScheduleKeyDeletion
TOGGLE = ("Enabled", "Disabled")  # EnableKey / DisableKey
ANY = ("Enabled", "Disabled", "PendingDeletion", "PendingImport", "PendingReplicaDeletion", "Creating", "Updating",
       "Unavailable")
