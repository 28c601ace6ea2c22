"""``kartoteka token …`` (API tokens for systems) and ``kartoteka user …`` (accounts for people)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Any

from app import accounts
from app.principals import ROLES, SCOPES
from app.services import Services
from app.settings import Settings
from archive.errors import InvalidChange
from workers.exitcodes import ExitCode, UsageError
from workers.output import print_json


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    token = sub.add_parser("token", help="API tokens for downstream systems").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = token.add_parser("create", help="create a token and print its secret (shown only this once)")
    p.add_argument("--name", required=True, help="what the token is for, e.g. the system that uses it")
    p.add_argument("--scope", required=True, choices=SCOPES, help="read; write (also review and upload); admin")
    p.add_argument("--json", action="store_true", help='print {"token": {...}, "secret"} as JSON')
    p.set_defaults(run=token_create)
    p = token.add_parser("list", help="every token, revoked ones too")
    p.add_argument("--json", action="store_true", help='print {"tokens": [...]} as JSON')
    p.set_defaults(run=token_list)
    p = token.add_parser("revoke", help="revoke a token for good")
    p.add_argument("token", metavar="ID_OR_NAME")
    p.set_defaults(run=token_revoke)

    user = sub.add_parser("user", help="accounts for people (clerks, operators, administrators)").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = user.add_parser("add", help="add an account")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES, help="clerk (read, review), operator (read, ingest), administrator")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(run=user_add)
    p = user.add_parser("list", help="every account")
    p.add_argument("--json", action="store_true", help='print {"users": [...]} as JSON')
    p.set_defaults(run=user_list)
    p = user.add_parser("passwd", help="set a new password (ends the account's sessions)")
    p.add_argument("name", metavar="ID_OR_NAME")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(run=user_passwd)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _row(row: Any, *hidden: str) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(row).items() if k not in hidden}


def token_create(args: argparse.Namespace, settings: Settings) -> int:
    row, secret = accounts.create_token(Services(settings), args.name, args.scope)
    if args.json:
        print_json({"token": _row(row, "token_hash"), "secret": secret})
    else:
        print(secret)
        print(f"token {row.name!r} ({row.scope}) created; its secret is shown only now", file=sys.stderr)
    return ExitCode.OK


def token_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = accounts.list_tokens(Services(settings))
    if args.json:
        print_json({"tokens": [_row(r, "token_hash") for r in rows]})
        return ExitCode.OK
    for r in rows:
        state = f"revoked {_when(r.revoked_at)}" if r.revoked_at else f"last used {_when(r.last_used_at)}"
        print(f"{r.name:24} {r.scope:6} created {_when(r.created_at)}  {state}  {r.id}")
    return ExitCode.OK


def token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    row = accounts.revoke_token(Services(settings), args.token)
    print(f"token {row.name!r} revoked", file=sys.stderr)
    return ExitCode.OK


def _terminal() -> bool:
    """Whether this process has a terminal to prompt at (getpass's own test: without one it
    would read standard input with a warning that the password may be echoed)."""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def _password(from_stdin: bool) -> str:
    """The password from one line of standard input, or typed twice at a prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not _terminal():
        raise UsageError("no terminal to type the password at: pipe it in with --password-stdin; nothing was changed")
    try:
        first = getpass.getpass("password: ")
        again = getpass.getpass("again: ")
    except EOFError:  # Ctrl-D at the prompt, or no terminal and nothing on standard input
        print(file=sys.stderr)  # the prompt's line was left open
        raise UsageError("no password given; nothing was changed (type it at the prompt, or pipe it in with --password-stdin)") from None
    if again != first:
        raise InvalidChange("the two passwords differ; nothing was changed")
    return first


def user_add(args: argparse.Namespace, settings: Settings) -> int:
    row = accounts.add_user(Services(settings), args.name, args.role, _password(args.password_stdin))
    print(f"account {row.name!r} ({row.role}) added", file=sys.stderr)
    return ExitCode.OK


def user_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = accounts.list_users(Services(settings))
    if args.json:
        print_json({"users": [_row(r, "password_hash") for r in rows]})
        return ExitCode.OK
    for r in rows:
        state = f"disabled {_when(r.disabled_at)}" if r.disabled_at else "active"
        print(f"{r.name:24} {r.role:13} created {_when(r.created_at)}  {state}")
    return ExitCode.OK


def user_passwd(args: argparse.Namespace, settings: Settings) -> int:
    row = accounts.set_password(Services(settings), args.name, _password(args.password_stdin))
    print(f"password of {row.name!r} set; its sessions ended", file=sys.stderr)
    return ExitCode.OK
