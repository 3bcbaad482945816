"""SMS keywords: opt-out always wins, sentences go to triage, replies in the contact's
language (issue 5)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from gateway import prompts
from gateway.contacts.crypto import get_vault, to_e164
from gateway.contacts.models import Contact
from gateway.db import unit_of_work
from gateway.outbound.keywords import parse
from tests import support
from tests.support import SignedClient, sms_form

SENDER = "+93701234567"


def text_of(response: object) -> str:
    root = ElementTree.fromstring(response.text)  # type: ignore[attr-defined]  # noqa: S314
    return "".join(m.text or "" for m in root.iter("Message"))


def send(client: SignedClient, body: str, sender: str = SENDER) -> str:
    response = client.post("/twilio/sms", sms_form(body, sender=sender))
    assert response.status_code == 200
    support.run_jobs()
    return text_of(response)


def contact(sender: str = SENDER) -> Contact:
    with unit_of_work() as session:
        found = session.execute(select(Contact).where(
            Contact.phone_hash == get_vault().lookup_hash(to_e164(sender)))).scalar_one()
        session.expunge(found)
        return found


def prompt(key: str, lang: str) -> str:
    return prompts.text("keywords", key, lang)


STOPS = [
    "STOP", "stop.", "Stop", " stop! ", "STOP 🙏", "Unsubscribe", "STOPALL", "stop all",
    "توقف", "توقف.", "لغو اشتراک", "لغو اشتراك 🙏",  # Dari; Arabic kaf ك, emoji
    "بند", "ودروه", "ودروة 🛑", "بند!",  # Pashto; teh marbuta ة for ه
    "۔بس۔", "bas",
]


@pytest.mark.parametrize("body", STOPS)
def test_stop_words_opt_out_and_never_reach_triage(client: SignedClient, body: str) -> None:
    send(client, "JOIN")
    assert contact().subscription == "active"
    reply = send(client, body)
    assert contact().subscription == "stopped"
    statuses = [i["status"] for i in support.items()]
    assert statuses == ["keyword", "keyword"]  # nothing for a coordinator to triage
    assert reply in {prompt("stopped", lang) for lang in prompts.load_all()}


@pytest.mark.parametrize("body", [
    "please stop the war", "Stop the war in Helmand", "we want to join the peace talks",
    "help us, there is no water", "the road is closed (band) since Monday",
])
def test_a_sentence_containing_a_keyword_goes_to_triage(client: SignedClient,
                                                        body: str) -> None:
    reply = send(client, body)
    [item] = support.items()
    assert item["status"] == "queued"
    assert contact().subscription == "none"
    assert reply == prompts.text("sms", "ack", "en")


@pytest.mark.parametrize("body", ["کمک", "مرسته", "HELP", "مدد!"])
def test_a_bare_help_gets_the_instructions_and_still_reaches_a_coordinator(
        client: SignedClient, body: str) -> None:
    # "کمک" alone may be someone asking for help: the reply explains the service (in the
    # contact's language), and the message is routed to their province queue like any other.
    send(client, "سلام از هرات، اینجا آب نیست")
    assert send(client, body) == prompt("help", "fa")
    items = support.items()
    assert [i["status"] for i in items] == ["queued", "queued"]
    assert items[1]["province"] == "AF32"  # the contact's last province
    assert contact().subscription == "none"


def test_after_choosing_a_language_every_acknowledgement_is_in_it(client: SignedClient) -> None:
    assert send(client, "we need water in our village") == prompts.text("sms", "ack", "en")
    assert send(client, "ژبه پښتو") == prompt("language_set", "ps")
    # Chosen, it wins over the language of each message, as for keywords and bulletins;
    # "123" and "salam" on their own used to get the default language's acknowledgement.
    for body in ["we need water in our village", "123", "salam", "ما از هرات هستیم"]:
        assert send(client, body) == prompts.text("sms", "ack", "ps"), body
    # A resent webhook (same MessageSid) gets the same reply.
    form = sms_form("salam", sender=SENDER)
    assert text_of(client.post("/twilio/sms", form)) == prompts.text("sms", "ack", "ps")
    assert text_of(client.post("/twilio/sms", form)) == prompts.text("sms", "ack", "ps")


@pytest.mark.parametrize("body", ["HELP", "info", "معلومات", "مدد"])
def test_a_bare_help_does_not_change_the_language_a_subscriber_is_written_to(
        client: SignedClient, body: str) -> None:
    # One keyword is too short to tell a language ("HELP" reads as English, the Dari
    # "معلومات" and "مدد" as Urdu). Since HELP goes to triage, its guess replaced what the
    # contact's own messages had shown: a Dari subscriber got bulletins in English, or none.
    from gateway.outbound import bulletins

    send(client, "سلام از هرات، اینجا آب نیست")
    send(client, "عضویت")
    assert send(client, body) == prompt("help", "fa")
    assert send(client, "HELP") == prompt("help", "fa")  # and the next reply still is
    with unit_of_work() as session:
        bulletin = bulletins.create(session, title="t", texts={"fa": "سلام", "en": "hello"},
                                    author="ann", fallback="en")
        assert bulletins.audience(session, bulletin) == [(contact().id, "fa")]


def test_stop_reply_is_in_the_contacts_language(client: SignedClient) -> None:
    send(client, "زه د کندهار یم، زموږ ښوونځي وتړل شول")  # Pashto: the contact's language
    assert send(client, "STOP") == prompt("stopped", "ps")
    assert send(client, "توقف") == prompt("stopped", "ps")


def test_first_message_keyword_replies_in_the_keywords_language(client: SignedClient) -> None:
    assert send(client, "توقف", sender="+93701000001") == prompt("stopped", "fa")
    assert send(client, "ودروه", sender="+93701000002") == prompt("stopped", "ps")
    assert send(client, "stop", sender="+93701000003") == prompt("stopped", "en")


def test_join_with_province_and_join_after_stop(client: SignedClient) -> None:
    reply = send(client, "JOIN HERAT")
    c = contact()
    assert (c.subscription, c.home_province) == ("active", "AF32")
    assert reply == prompt("joined_province", "en").format(province="Herat")
    send(client, "STOP")
    assert contact().subscription == "stopped"
    send(client, "start")
    assert contact().subscription == "active"


def test_change_language_and_province(client: SignedClient) -> None:
    send(client, "salam")
    reply = send(client, "زبان پښتو")
    assert contact().preferred_language == "ps"
    assert reply == prompt("language_set", "ps")
    reply = send(client, "ولایت کندهار")
    assert contact().home_province == "AF27"
    assert reply == prompt("province_set", "ps").format(province="کندهار")
    # The chosen language survives messages written in another language.
    send(client, "Please tell the negotiators that Bamyan needs roads")
    assert send(client, "HELP") == prompt("help", "ps")


@pytest.mark.parametrize(("body", "action", "argument"), [
    ("JOIN HERAT", "join", "AF32"), ("join, herat!", "join", "AF32"),
    ("عضویت", "join", None), ("ګډون", "join", None),
    ("زبان پښتو", "language", "ps"), ("ژبه دري", "language", "fa"),
    ("Language Uzbek", "language", "uz"), ("zaban dari", "language", "fa-Latn"),
    ("province kandahar", "province", "AF27"), ("ولایت هرات", "province", "AF32"),
    ("HELP", "help", None), ("کمک", "help", None), ("مرسته", "help", None),
])
def test_keyword_table(body: str, action: str, argument: str | None) -> None:
    keyword = parse(body)
    assert keyword is not None and keyword.action == action
    assert argument in (None, keyword.province, keyword.target_language)


@pytest.mark.parametrize("body", [
    "join the protest in herat", "HELP me please", "province", "language of the talks",
    "stop the war", "123", "🙏", "",
])
def test_not_keywords(body: str) -> None:
    assert parse(body) is None


def test_keyword_prompts_have_the_same_keys_and_placeholders_in_every_language() -> None:
    root = Path(__file__).resolve().parent.parent / "prompts"
    shapes = {}
    for path in sorted(root.glob("*/prompts.toml")):
        table = tomllib.loads(path.read_text())["keywords"]
        shapes[path.parent.name] = {k: sorted(re.findall(r"{(\w+)}", v))
                                    for k, v in table.items()}
    assert len(shapes) == 7
    assert all(shape == shapes["en"] for shape in shapes.values())
