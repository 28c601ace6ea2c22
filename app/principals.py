"""Who is asking, and what they may do: API tokens carry a scope, people a role.

Every operation the HTTP API offers needs one permission; a principal has a fixed set of them:

=================  ====================================================================
permission         allows
=================  ====================================================================
``read``           cards, their files, search, the ledger and batches, the change feed
``review``         correcting cards (kind, fields, correspondent), the review queue
``ingest``         uploads, retrying quarantined files, the operator's dashboard
``admin``          tokens, accounts, webhooks
=================  ====================================================================

A token's scope (``read``, ``write``, ``admin``) and a person's role (``clerk``, ``operator``,
``administrator``) each map to one set below; nothing else decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "SCOPES",
    "SCOPE_PERMISSIONS",
    "Permission",
    "Principal",
    "Role",
    "Scope",
]

Permission = Literal["read", "review", "ingest", "admin"]
Scope = Literal["read", "write", "admin"]
Role = Literal["clerk", "operator", "administrator"]

PERMISSIONS: tuple[Permission, ...] = get_args(Permission)
SCOPES: tuple[Scope, ...] = get_args(Scope)
ROLES: tuple[Role, ...] = get_args(Role)

SCOPE_PERMISSIONS: dict[Scope, frozenset[Permission]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"read", "review", "ingest"}),
    "admin": frozenset(PERMISSIONS),
}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "clerk": frozenset({"read", "review"}),
    "operator": frozenset({"read", "ingest"}),
    "administrator": frozenset(PERMISSIONS),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a system (by its token's name) or a person (by login name)."""

    kind: Literal["token", "user"]
    #: the token's id or the user's id
    id: str
    name: str
    permissions: frozenset[Permission]

    @property
    def actor(self) -> str:
        """How the audit trail names this caller: ``token:accounting``, ``user:anna``."""
        return f"{self.kind}:{self.name}"

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    @classmethod
    def for_token(cls, token_id: str, name: str, scope: Scope) -> Principal:
        return cls("token", token_id, name, SCOPE_PERMISSIONS[scope])

    @classmethod
    def for_user(cls, user_id: str, name: str, role: Role) -> Principal:
        return cls("user", user_id, name, ROLE_PERMISSIONS[role])
