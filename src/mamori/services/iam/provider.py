"""AWS Identity and Access Management: the provider, assembled from one mixin per
resource family.

    users.py              users, user tags, user policies and boundary
    groups.py             groups, membership, group policies
    roles.py              roles, trust policies, role tags and policies, service-linked roles
    entity_policies.py    inline / attached / boundary logic shared by the three above
    policies.py           managed policies, versions, policy tags, ListEntitiesForPolicy
    access_keys.py        access keys (credential table)
    mfa.py, totp.py       virtual MFA devices with RFC 6238 TOTP
    passwords.py          login profiles, ChangePassword, account password policy
    instance_profiles.py  instance profiles
    account.py            alias, GetAccountSummary, GetAccountAuthorizationDetails
    credential_report.py  Generate/GetCredentialReport
    simulate.py           SimulatePrincipalPolicy / SimulateCustomPolicy
    federation.py         OpenID Connect and SAML identity providers (read by STS)
    user_credentials.py   SSH public keys, signing certificates, service-specific credentials
    server_certificates.py  server certificates (private key sealed, never returned)
    access_advisor.py     last-accessed reports, policies granting a service, context keys
    authorizer.py         enforcement: the IAM decision on every call (runtime.authorizer)
    repository.py         the storage layout and the read API for the authorizer and STS
    validation.py         names, paths, tags, pagination and IAM's errors
    ids.py                AIDA/AROA/... unique ids and access keys
    managed_policies/     AWS managed policy documents (data)
"""

from __future__ import annotations

from mamori.services.base import Provider
from mamori.services.iam.access_advisor import AccessAdvisor
from mamori.services.iam.access_keys import AccessKeys
from mamori.services.iam.account import Account
from mamori.services.iam.credential_report import CredentialReport
from mamori.services.iam.federation import Federation
from mamori.services.iam.groups import Groups
from mamori.services.iam.instance_profiles import InstanceProfiles
from mamori.services.iam.mfa import MfaDevices
from mamori.services.iam.passwords import Passwords
from mamori.services.iam.policies import Policies
from mamori.services.iam.roles import Roles
from mamori.services.iam.server_certificates import ServerCertificates
from mamori.services.iam.simulate import Simulation
from mamori.services.iam.user_credentials import UserCredentials
from mamori.services.iam.users import Users


class IamProvider(
    Users,
    Groups,
    Roles,
    Policies,
    AccessKeys,
    MfaDevices,
    Passwords,
    InstanceProfiles,
    Account,
    CredentialReport,
    Simulation,
    Federation,
    UserCredentials,
    ServerCertificates,
    AccessAdvisor,
    Provider,
):
    service = "iam"

    def setup(self) -> None:
        # IAM owns enforcement: from now on every ctx.authorize is an IAM decision.
        from mamori.services.iam.authorizer import IamAuthorizer

        self.runtime.authorizer = IamAuthorizer(self.runtime)
