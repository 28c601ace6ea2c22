"""Static checks over the packages: strict types (mypy), no unused names (pyflakes), the layering
(a package imports only from packages before it) and short functions."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The packages in layer order: each may import only from those before it.
LAYERS = ["ingest", "ocr", "classify", "archive", "search", "app", "workers"]
#: The packages present in this tree (one may still be being created).
PACKAGES = [p for p in LAYERS if (ROOT / p).is_dir()]
#: Longest function or method allowed, in lines from ``def`` to its last line (STYLE habit 10).
MAX_FUNCTION_LINES = 60


def _python_files(root: Path, package: str) -> Iterator[Path]:
    yield from sorted((root / package).rglob("*.py"))


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported_packages(node: ast.AST) -> list[str]:
    """Top-level package names an import statement reads from (relative imports stay inside)."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module.split(".")[0]]
    return []


def layering_violations(packages: list[str], root: Path = ROOT) -> list[str]:
    """``file:line: import text (package -> later package)`` for every import against the order."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    found: list[str] = []
    for package in packages:
        for path in _python_files(root, package):
            for node in ast.walk(_parse(path)):
                for target in _imported_packages(node):
                    if target in rank and rank[target] > rank[package]:
                        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
                        found.append(f"{where}: {ast.unparse(node)}  ({package} must not import {target})")
    return found


def long_functions(packages: list[str], root: Path = ROOT, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``file:line name: N lines`` for every function or method longer than ``limit`` lines."""
    found: list[str] = []
    for package in packages:
        for path in _python_files(root, package):
            if "migrations" in path.relative_to(root).parts:
                continue
            for node in ast.walk(_parse(path)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > limit:
                        found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {length} lines")
    return found


def test_packages_type_check_strictly() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", *PACKAGES], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_no_unused_imports_or_names() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pyflakes", *[d for d in (*PACKAGES, "tests", "bench") if (ROOT / d).is_dir()]],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_no_package_imports_from_a_later_layer() -> None:
    violations = layering_violations(PACKAGES)
    assert not violations, "imports against the order " + " → ".join(LAYERS) + ":\n" + "\n".join(violations)


def test_the_static_checks_see_what_they_are_meant_to(tmp_path: Path) -> None:
    # The checkers themselves, on a made-up package: a module-level import of a later package, an
    # earlier one (allowed), a relative one (inside), a function-local one; and function lengths.
    pkg = tmp_path / "ocr"
    (pkg / "migrations").mkdir(parents=True)
    body = "".join(f"    x{i} = {i}\n" for i in range(59))
    (pkg / "bad.py").write_text(
        "import archive.db\nfrom ingest.errors import PipelineError\nfrom . import model\n\n"
        "def f():\n    from workers import cli\n    return cli\n\n"
        f"def sixty():\n{body}\n"
        f"def sixty_one():\n{body}    return x0\n",
        encoding="utf-8",
    )
    (pkg / "migrations" / "v1.py").write_text(f"def upgrade():\n{body}    pass\n    pass\n", encoding="utf-8")
    found = layering_violations(["ocr"], root=tmp_path)
    assert [line.split(": ", 1)[0] for line in found] == ["ocr/bad.py:1", "ocr/bad.py:6"]
    assert found[1].endswith("from workers import cli  (ocr must not import workers)")
    assert long_functions(["ocr"], root=tmp_path) == ["ocr/bad.py:70 sixty_one: 61 lines"]


def test_no_function_is_longer_than_60_lines() -> None:
    offenders = long_functions(PACKAGES)
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines (split them):\n" + "\n".join(offenders)
