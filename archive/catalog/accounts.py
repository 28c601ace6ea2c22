"""Who may use the API: tokens for systems, accounts and web sessions for people, and the failed
logins that rate-limit guessing (``AccountStore``).

Only hashes of secrets are stored: the SHA-256 of a token's secret and of a session's secret,
and an Argon2 hash of a password. Hashing and the policies (which hash, how long a session
lives, how many failures are too many) are the application's (``app.accounts``); this stores
and finds rows. Times come from the catalog's clock (``now``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, Table, delete, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from archive.catalog.base import CatalogBase
from archive.errors import NameTaken, TokenNotFound, UserNotFound
from archive.model import SessionRow, TokenRow, TokenScope, UserRole, UserRow
from archive.rows import new_id
from archive.tables import api_tokens, login_failures, sessions, users

__all__ = ["AccountStore", "SqlAccounts"]


@runtime_checkable
class AccountStore(Protocol):
    """API tokens, accounts, sessions and failed logins."""

    def now(self) -> datetime: ...

    def add_token(self, name: str, scope: TokenScope, token_hash: str) -> TokenRow: ...

    def list_tokens(self) -> list[TokenRow]: ...

    def get_token(self, id_or_name: str) -> TokenRow | None: ...

    def find_token(self, token_hash: str) -> TokenRow | None: ...

    def revoke_token(self, id_or_name: str) -> TokenRow: ...

    def touch_token(self, token_id: str, every: timedelta) -> bool: ...

    def add_user(self, name: str, role: UserRole, password_hash: str) -> UserRow: ...

    def list_users(self) -> list[UserRow]: ...

    def get_user(self, id_or_name: str) -> UserRow | None: ...

    def set_password_hash(self, id_or_name: str, password_hash: str, *, end_sessions: bool) -> UserRow: ...

    def disable_user(self, id_or_name: str) -> UserRow: ...

    def add_session(self, session_id: str, user_id: str, csrf_token: str, expires_at: datetime) -> SessionRow: ...

    def find_session(self, session_id: str) -> tuple[SessionRow, UserRow] | None: ...

    def touch_session(self, session_id: str, expires_at: datetime) -> None: ...

    def delete_session(self, session_id: str) -> bool: ...

    def delete_expired_sessions(self) -> int: ...

    def add_login_failure(self, keys: Sequence[str], forget_before: datetime) -> None: ...

    def login_failures(self, key: str, since: datetime) -> list[datetime]: ...

    def clear_login_failures(self, key: str) -> int: ...


class SqlAccounts(CatalogBase):
    """``AccountStore`` on the catalog database."""

    # -- API tokens ------------------------------------------------------------------------

    def add_token(self, name: str, scope: TokenScope, token_hash: str) -> TokenRow:
        """Store a new token by the hash of its secret; ``NameTaken`` if the name is used."""
        values = {"id": new_id(), "name": name, "scope": scope, "token_hash": token_hash,
                  "created_at": self._clock(), "last_used_at": None, "revoked_at": None}  # fmt: skip
        return _token_row(self._insert_named(api_tokens, values, "an API token"))

    def list_tokens(self) -> list[TokenRow]:
        """Every token, revoked ones too, by name."""
        with self._read() as conn:
            return [_token_row(m) for m in conn.execute(select(api_tokens).order_by(api_tokens.c.name)).mappings()]

    def get_token(self, id_or_name: str) -> TokenRow | None:
        with self._read() as conn:
            found = _named(conn, api_tokens, id_or_name)
        return None if found is None else _token_row(found)

    def find_token(self, token_hash: str) -> TokenRow | None:
        """The token whose secret hashes to ``token_hash`` (revoked or not)."""
        with self._read() as conn:
            found = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash))
            row = found.mappings().one_or_none()
        return None if row is None else _token_row(row)

    def revoke_token(self, id_or_name: str) -> TokenRow:
        """Revoke a token for good; revoking it again changes nothing. ``TokenNotFound``."""
        with self._write() as conn:
            found = _named(conn, api_tokens, id_or_name)
            if found is None:
                raise TokenNotFound(f"no API token has id or name {id_or_name!r}")
            if found["revoked_at"] is None:
                conn.execute(update(api_tokens).where(api_tokens.c.id == found["id"]).values(revoked_at=self._clock()))
                found = _named(conn, api_tokens, found["id"])
            assert found is not None
            return _token_row(found)

    def touch_token(self, token_id: str, every: timedelta) -> bool:
        """Note that a token was used now, unless that was noted less than ``every`` ago."""
        now = self._clock()
        stale = or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at <= now - every)
        with self._write() as conn:
            done = conn.execute(update(api_tokens).where(api_tokens.c.id == token_id, stale).values(last_used_at=now))
            return bool(done.rowcount)

    # -- accounts --------------------------------------------------------------------------

    def add_user(self, name: str, role: UserRole, password_hash: str) -> UserRow:
        """Create an account; ``NameTaken`` if the name is used."""
        values = {"id": new_id(), "name": name, "role": role, "password_hash": password_hash,
                  "created_at": self._clock(), "disabled_at": None}  # fmt: skip
        return _user_row(self._insert_named(users, values, "an account"))

    def list_users(self) -> list[UserRow]:
        with self._read() as conn:
            return [_user_row(m) for m in conn.execute(select(users).order_by(users.c.name)).mappings()]

    def get_user(self, id_or_name: str) -> UserRow | None:
        with self._read() as conn:
            found = _named(conn, users, id_or_name)
        return None if found is None else _user_row(found)

    def set_password_hash(self, id_or_name: str, password_hash: str, *, end_sessions: bool) -> UserRow:
        """Replace a password's hash; ``end_sessions`` logs the person out everywhere."""
        with self._write() as conn:
            user = self._lock_user(conn, id_or_name)
            conn.execute(update(users).where(users.c.id == user.id).values(password_hash=password_hash))
            if end_sessions:
                conn.execute(delete(sessions).where(sessions.c.user_id == user.id))
            found = _named(conn, users, user.id)
            assert found is not None
            return _user_row(found)

    def disable_user(self, id_or_name: str) -> UserRow:
        """Disable an account and end its sessions; disabling it again changes nothing."""
        with self._write() as conn:
            user = self._lock_user(conn, id_or_name)
            conn.execute(delete(sessions).where(sessions.c.user_id == user.id))
            if user.disabled_at is None:
                conn.execute(update(users).where(users.c.id == user.id).values(disabled_at=self._clock()))
            found = _named(conn, users, user.id)
            assert found is not None
            return _user_row(found)

    def _lock_user(self, conn: Connection, id_or_name: str) -> UserRow:
        found = _named(conn, users, id_or_name, lock=True)
        if found is None:
            raise UserNotFound(f"no account has id or name {id_or_name!r}")
        return _user_row(found)

    def _insert_named(self, table: Table, values: dict[str, Any], what: str) -> RowMapping:
        try:
            with self._write() as conn:
                if conn.execute(select(table.c.id).where(table.c.name == values["name"])).first() is not None:
                    raise NameTaken(f"{what} named {values['name']!r} exists already; choose another name")
                conn.execute(table.insert().values(**values))
                return conn.execute(select(table).where(table.c.id == values["id"])).mappings().one()
        except IntegrityError as e:  # created concurrently (PostgreSQL)
            raise NameTaken(f"{what} named {values['name']!r} exists already; choose another name") from e

    # -- sessions --------------------------------------------------------------------------

    def add_session(self, session_id: str, user_id: str, csrf_token: str, expires_at: datetime) -> SessionRow:
        """Store a session by the hash of its secret."""
        now = self._clock()
        values = {"id": session_id, "user_id": user_id, "csrf_token": csrf_token, "created_at": now,
                  "expires_at": expires_at, "last_seen_at": now}  # fmt: skip
        with self._write() as conn:
            conn.execute(sessions.insert().values(**values))
            return _session_row(conn.execute(select(sessions).where(sessions.c.id == session_id)).mappings().one())

    def find_session(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """A session (expired or not) with its account."""
        query = select(sessions, *[c.label(f"account_{c.name}") for c in users.c]).join(users, users.c.id == sessions.c.user_id)
        with self._read() as conn:
            found = conn.execute(query.where(sessions.c.id == session_id)).mappings().one_or_none()
        if found is None:
            return None
        user = {c.name: found[f"account_{c.name}"] for c in users.c}
        return _session_row(found), _user_row(user)

    def touch_session(self, session_id: str, expires_at: datetime) -> None:
        """Note that a session was used now and move its expiry (a sliding expiry)."""
        with self._write() as conn:
            conn.execute(
                update(sessions).where(sessions.c.id == session_id).values(last_seen_at=self._clock(), expires_at=expires_at)
            )

    def delete_session(self, session_id: str) -> bool:
        with self._write() as conn:
            return bool(conn.execute(delete(sessions).where(sessions.c.id == session_id)).rowcount)

    def delete_expired_sessions(self) -> int:
        """Forget sessions past their expiry; how many there were."""
        with self._write() as conn:
            return conn.execute(delete(sessions).where(sessions.c.expires_at <= self._clock())).rowcount

    # -- failed logins ---------------------------------------------------------------------

    def add_login_failure(self, keys: Sequence[str], forget_before: datetime) -> None:
        """Note a failed login under each key, and forget failures older than ``forget_before``."""
        now = self._clock()
        with self._write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.failed_at < forget_before))
            if keys:
                conn.execute(login_failures.insert(), [{"key": key, "failed_at": now} for key in keys])

    def login_failures(self, key: str, since: datetime) -> list[datetime]:
        """When logins under ``key`` failed since ``since``, newest first."""
        query = (
            select(login_failures.c.failed_at)
            .where(login_failures.c.key == key, login_failures.c.failed_at >= since)
            .order_by(login_failures.c.failed_at.desc())
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def clear_login_failures(self, key: str) -> int:
        with self._write() as conn:
            return conn.execute(delete(login_failures).where(login_failures.c.key == key)).rowcount


def _named(conn: Connection, table: Table, id_or_name: str, *, lock: bool = False) -> RowMapping | None:
    """The row of ``table`` with this id, or else with this name."""
    query = select(table).where(or_(table.c.id == id_or_name, table.c.name == id_or_name))
    if lock:
        query = query.with_for_update()
    rows = list(conn.execute(query).mappings())
    by_id = [m for m in rows if m["id"] == id_or_name]
    found = by_id or rows
    return found[0] if found else None


def _token_row(m: Mapping[Any, Any]) -> TokenRow:
    return TokenRow(
        id=m["id"], name=m["name"], scope=m["scope"], token_hash=m["token_hash"], created_at=m["created_at"],
        last_used_at=m["last_used_at"], revoked_at=m["revoked_at"],
    )  # fmt: skip


def _user_row(m: Mapping[Any, Any]) -> UserRow:
    return UserRow(
        id=m["id"], name=m["name"], role=m["role"], password_hash=m["password_hash"], created_at=m["created_at"],
        disabled_at=m["disabled_at"],
    )  # fmt: skip


def _session_row(m: Mapping[Any, Any]) -> SessionRow:
    return SessionRow(
        id=m["id"], user_id=m["user_id"], csrf_token=m["csrf_token"], created_at=m["created_at"],
        expires_at=m["expires_at"], last_seen_at=m["last_seen_at"],
    )  # fmt: skip
