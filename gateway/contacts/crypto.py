"""Phone numbers at rest: keyed hash for look-up, Fernet for the number itself.

The hash is HMAC-SHA256 with a server key, so a stolen database cannot be reversed by
hashing every Afghan number (there are only ~10^9). Fernet (AES-CBC + HMAC, from the
``cryptography`` package) keeps the number decryptable only where an SMS must be sent;
MultiFernet lets keys rotate without re-encrypting first.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

import phonenumbers
from cryptography.fernet import Fernet, MultiFernet

from gateway.settings import ConfigError, Settings, get_settings


def to_e164(raw: str, region: str = "AF") -> str:
    """Canonical E.164 form; `0701234567`, `93701234567` and `+93 70 123 4567` agree.

    A sender that is not a phone number (a short code, an alphanumeric id) is kept as
    its stripped self so it still maps to one contact.
    """
    candidates = [raw]
    digits = "".join(ch for ch in raw if ch.isdigit())
    if digits and not raw.strip().startswith("+"):
        candidates.append("+" + digits)  # "93701234567": international without the plus
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return raw.strip()


class Vault:
    def __init__(self, hash_key: bytes, fernet_keys: list[str]) -> None:
        if not hash_key or not fernet_keys:
            raise ConfigError("AMIP_HASH_KEY and AMIP_ENCRYPTION_KEYS must be set")
        self._hash_key = hash_key
        self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in fernet_keys])

    def lookup_hash(self, e164: str) -> str:
        return hmac.new(self._hash_key, b"lookup:" + e164.encode(), hashlib.sha256).hexdigest()

    def pseudonym(self, e164: str, variant: int = 0) -> str:
        """Non-reversible name coordinators see, e.g. ``P-3KQ7M-X2DAB``; stored with the
        contact, so it stays the same. Pseudonyms are 50 bits: another number may already
        hold this one, and then the next ``variant`` names this number instead."""
        label = b"pseudonym:" + e164.encode() + (b"#%d" % variant if variant else b"")
        digest = hmac.new(self._hash_key, label, hashlib.sha256).digest()
        code = base64.b32encode(digest[:7]).decode()[:10]
        return f"P-{code[:5]}-{code[5:]}"

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode()


def vault_from(settings: Settings) -> Vault:
    if settings.hash_key is None or settings.encryption_keys is None:
        raise ConfigError("AMIP_HASH_KEY and AMIP_ENCRYPTION_KEYS must be set")
    keys = [k for k in settings.encryption_keys.get_secret_value().split(",") if k.strip()]
    return Vault(settings.hash_key.get_secret_value().encode(), keys)


@functools.lru_cache(maxsize=1)
def get_vault() -> Vault:
    return vault_from(get_settings())
