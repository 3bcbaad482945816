"""A careless operator: secrets, settings, the `amip` command line and the logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

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
