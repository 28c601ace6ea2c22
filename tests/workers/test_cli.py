"""The command line's dispatch: only the running command's module is imported."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from workers.cli import COMMANDS, _command_of, build_parser


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_the_command_table_names_every_command_its_module_defines() -> None:
    assert _commands(build_parser()) == set(COMMANDS)
    for command, module in COMMANDS.items():
        parser = argparse.ArgumentParser()
        importlib.import_module(module).add_parser(parser.add_subparsers())
        assert command in _commands(parser), (command, module)
        assert _commands(build_parser(command)) <= set(COMMANDS)


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["search", "договор"], "search"),
        (["-v", "--settings", "a.toml", "reindex", "--json"], "reindex"),
        (["--settings=a.toml", "card", "ВХ-1"], "card"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_word_is_found_after_the_global_options(argv: list[str], command: str | None) -> None:
    assert _command_of(argv) == command


def test_search_starts_without_importing_ocr_the_catalog_or_the_broker() -> None:
    code = (
        "import sys; from workers.cli import build_parser; build_parser('search');"
        "print(sorted(m for m in ('cv2', 'sqlalchemy', 'dramatiq', 'ocr.run') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _every_parser(parser: argparse.ArgumentParser, name: str = "kartoteka") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _every_parser(sub, f"{name} {sub_name}")


def test_every_option_has_help_text() -> None:
    """`--json` of card, ledger, verify, reindex, search, token and user list had none, like a dozen others."""
    bare = [f"{name} {', '.join(a.option_strings)}" for name, parser in _every_parser(build_parser())
            for a in parser._actions if a.option_strings and not a.help]  # fmt: skip
    assert bare == []
