"""The command line around the API: ``kartoteka serve``, ``run`` serving the same API, ``token``,
``user`` and ``export``, as separate processes."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests import scripted as S
from tests.processes import EXE, clean_env

LISTENING = re.compile(r"HTTP API on (http://\S+?)/api/v1")


def _kartoteka(data: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], input=stdin, env=clean_env(data, **env), capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def _wait_for_url(proc: subprocess.Popen[str], log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        assert proc.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError("the API did not start: " + log.read_text())


def _start(data: Path, log: IO[str], *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(EXE), *args], env=clean_env(data, **env), stdout=log, stderr=log, text=True)


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield int(sock.getsockname()[1])
    sock.close()


def test_tokens_are_created_listed_and_revoked_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = _kartoteka(data, "token", "create", "--name", "accounting", "--scope", "read")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("kt_") and "\n" not in secret and "shown only now" in created.stderr
    listed = json.loads(_kartoteka(data, "token", "list", "--json").stdout)["tokens"]
    assert [(t["name"], t["scope"], t["revoked_at"]) for t in listed] == [("accounting", "read", None)]
    assert secret not in json.dumps(listed) and "hash" not in json.dumps(listed)
    assert _kartoteka(data, "token", "revoke", "accounting").returncode == 0
    assert json.loads(_kartoteka(data, "token", "list", "--json").stdout)["tokens"][0]["revoked_at"]
    missing = _kartoteka(data, "token", "revoke", "nobody")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1


def test_accounts_are_added_with_a_password_from_stdin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = _kartoteka(data, "user", "add", "anna", "--role", "clerk", "--password-stdin", stdin="a long enough secret\n")
    assert added.returncode == 0, added.stderr
    users = json.loads(_kartoteka(data, "user", "list", "--json").stdout)["users"]
    assert [(u["name"], u["role"]) for u in users] == [("anna", "clerk")] and "password" not in json.dumps(users)
    short = _kartoteka(data, "user", "passwd", "anna", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    assert _kartoteka(data, "user", "passwd", "anna", "--password-stdin", stdin="another long secret\n").returncode == 0
    taken = _kartoteka(data, "user", "add", "anna", "--role", "operator", "--password-stdin", stdin="a long enough secret\n")
    assert taken.returncode == 1


def test_user_add_without_a_terminal_or_password_stdin_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    """It was an EOFError traceback (getpass read an empty standard input)."""
    data = tmp_path / "data"
    proc = subprocess.run([str(EXE), "user", "add", "anna", "--role", "clerk"], stdin=subprocess.DEVNULL,
                          env=clean_env(data), capture_output=True, text=True, timeout=120, start_new_session=True)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("kartoteka: no terminal") and "--password-stdin" in line
    assert json.loads(_kartoteka(data, "user", "list", "--json").stdout)["users"] == []


def _read_until(fd: int, text: bytes, timeout: float = 60) -> bytes:
    """What the terminal showed until ``text`` (or the end)."""
    seen, deadline = b"", time.monotonic() + timeout
    while text not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other end closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_ctrl_d_at_the_password_prompt_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    """On a real terminal (the child's controlling tty), Ctrl-D at «password: »."""
    data = tmp_path / "data"
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.execve(str(EXE), [str(EXE), "user", "add", "anna", "--role", "clerk"], clean_env(data))
    try:
        assert b"password: " in _read_until(fd, b"password: ")
        os.write(fd, b"\x04")  # Ctrl-D at the start of a line: end of input
        shown = _read_until(fd, b"\x00never")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 2, shown
    assert b"Traceback" not in shown and b"kartoteka: no password given; nothing was changed" in shown
    assert json.loads(_kartoteka(data, "user", "list", "--json").stdout)["users"] == []


def test_serve_answers_until_sigterm_then_exits_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    secret = _kartoteka(data, "token", "create", "--name", "reader", "--scope", "read").stdout.strip()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = _start(data, log, "serve", KARTOTEKA_HTTP_PORT="0", KARTOTEKA_LOG_FORMAT="json")
        try:
            url = _wait_for_url(proc, log_path)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as client:
                assert client.get("/health").json() == {"status": "ok"}
                assert client.get("/api/v1/ledger").json() == {"files": [], "next_cursor": None}
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    (request,) = [line for line in lines if line["logger"] == "workers.api.requests" and "/api/v1/ledger" in line["message"]]
    assert "200" in request["message"] and "token:reader" in request["message"]


def test_serve_port_0_is_any_free_port_as_the_setting_0_is(tmp_path: Path, busy_port: int) -> None:
    """«--port 0» was refused (exit 2) although KARTOTEKA_HTTP_PORT=0 is documented as any free port."""
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = _start(tmp_path / "data", log, "serve", "--port", "0", KARTOTEKA_HTTP_PORT=str(busy_port))
        try:
            url = _wait_for_url(proc, log_path)
            assert not url.endswith(f":{busy_port}") and httpx.get(url + "/health").json() == {"status": "ok"}
        finally:
            assert _stop(proc) == 0


def test_serve_on_a_port_in_use_is_one_line_and_status_3(tmp_path: Path, busy_port: int) -> None:
    done = _kartoteka(tmp_path / "data", "serve", KARTOTEKA_HTTP_PORT=str(busy_port))
    assert done.returncode == 3
    assert done.stderr.startswith("kartoteka: cannot listen on") and done.stderr.count("\n") == 1


def test_run_serves_the_api_over_the_archive_it_fills(tmp_path: Path) -> None:
    data, inbox = tmp_path / "data", tmp_path / "inbox"
    inbox.mkdir()
    script = S.write_script(tmp_path / "script.json", {"memo": "СЛУЖЕБНАЯ ЗАПИСКА № 45 о закупке бумаги"})
    env = {"KARTOTEKA_INBOX": str(inbox), "KARTOTEKA_HTTP_PORT": "0", "KARTOTEKA_OCR_ENGINE": "scripted",
           "KARTOTEKA_OCR_SCRIPT_FILE": str(script), "KARTOTEKA_OCR_DPI": str(S.DPI)}  # fmt: skip
    secret = _kartoteka(data, "token", "create", "--name", "reader", "--scope", "read").stdout.strip()
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        proc = _start(data, log, "run", **env)
        try:
            url = _wait_for_url(proc, log_path)
            S.write_png(inbox / "memo.png", "memo")
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as client:
                deadline = time.monotonic() + 60
                while not (found := client.get("/api/v1/search", params={"q": "закупке"}).json())["total"]:
                    assert time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
            assert found["hits"][0]["registration_number"].startswith("ВХ-")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, log_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_run_on_a_port_in_use_is_one_line_and_status_3(tmp_path: Path, busy_port: int) -> None:
    inbox = tmp_path / "inbox"
    done = _kartoteka(tmp_path / "data", "run", KARTOTEKA_INBOX=str(inbox), KARTOTEKA_HTTP_PORT=str(busy_port),
                      KARTOTEKA_OCR_ENGINE="scripted", KARTOTEKA_OCR_SCRIPT_FILE=str(S.write_script(tmp_path / "s.json", {})))  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "cannot listen on" in done.stderr and done.stderr.strip().count("\n") == 0


def test_http_settings_come_from_the_environment() -> None:
    from app.settings import load_settings

    settings = load_settings({"KARTOTEKA_DATA_DIR": "/d", "KARTOTEKA_HTTP_HOST": "0.0.0.0", "KARTOTEKA_HTTP_PORT": "8080",
                              "KARTOTEKA_HTTP_MAX_UPLOAD_MB": "50"})  # fmt: skip
    assert (settings.http_host, settings.http_port, settings.http_max_upload_mb) == ("0.0.0.0", 8080, 50)
    default = load_settings({"KARTOTEKA_DATA_DIR": "/d"})
    assert (default.http_host, default.http_port, default.http_max_upload_mb) == ("127.0.0.1", 8000, 200)


def test_search_and_card_start_without_importing_the_web_stack() -> None:
    import sys

    code = (
        "import sys; from workers.cli import build_parser; build_parser('search'); build_parser('card');"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'argon2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_and_serve_on_one_data_directory_post_each_webhook_once(tmp_path: Path) -> None:
    from tests.app.test_webhooks import Receiver

    data, inbox = tmp_path / "data", tmp_path / "inbox"
    inbox.mkdir()
    script = S.write_script(tmp_path / "script.json", {"memo": "СЛУЖЕБНАЯ ЗАПИСКА № 45 о закупке бумаги"})
    env = {"KARTOTEKA_INBOX": str(inbox), "KARTOTEKA_HTTP_PORT": "0", "KARTOTEKA_OCR_ENGINE": "scripted",
           "KARTOTEKA_OCR_SCRIPT_FILE": str(script), "KARTOTEKA_OCR_DPI": str(S.DPI)}  # fmt: skip
    secret = _kartoteka(data, "token", "create", "--name", "ops", "--scope", "admin").stdout.strip()
    receiver = Receiver()
    logs = {name: tmp_path / f"{name}.log" for name in ("run", "serve")}
    with logs["run"].open("w") as run_log, logs["serve"].open("w") as serve_log:
        procs = {"run": _start(data, run_log, "run", **env), "serve": _start(data, serve_log, "serve", KARTOTEKA_HTTP_PORT="0")}
        try:
            url = _wait_for_url(procs["serve"], logs["serve"])
            _wait_for_url(procs["run"], logs["run"])
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as admin:
                hook = admin.post("/api/v1/webhooks", json={"url": receiver.url, "topics": ["card.registered"]})
                assert hook.status_code == 201, hook.text
                S.write_png(inbox / "memo.png", "memo")
                deadline = time.monotonic() + 60
                while not receiver.got:
                    assert time.monotonic() < deadline, logs["run"].read_text() + logs["serve"].read_text()
                    time.sleep(0.1)
                time.sleep(3)  # both senders would have posted it by now
            assert {name: _stop(proc) for name, proc in procs.items()} == {"run": 0, "serve": 0}
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            receiver.server.shutdown()
            receiver.server.server_close()
    (delivery,) = receiver.got
    assert json.loads(delivery[1])["topic"] == "card.registered"
    texts = [path.read_text() for path in logs.values()]
    assert sorted("sending webhooks from this process" in t for t in texts) == [False, True], texts
    assert sum("stands by" in t for t in texts) == 1


def test_serve_starts_without_its_index_says_so_in_one_line_and_is_not_ready(tmp_path: Path) -> None:
    """It refused to start (exit 4) while Elasticsearch was down, though only search needs it:
    uploads, cards and the ledger work, and the index feed catches up."""
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = _start(tmp_path / "data", log, "serve", KARTOTEKA_HTTP_PORT="0", KARTOTEKA_SEARCH_URL="http://127.0.0.1:9/kartoteka")
        try:
            url = _wait_for_url(proc, log_path)
            assert httpx.get(f"{url}/health", timeout=10).status_code == 200
            assert httpx.get(f"{url}/ready", timeout=30).status_code == 503
        finally:
            assert _stop(proc) == 0
    (line,) = [ln for ln in log_path.read_text().splitlines() if "search index http://127.0.0.1:9/kartoteka" in ln]
    assert "WARNING" in line and "starting anyway" in line
