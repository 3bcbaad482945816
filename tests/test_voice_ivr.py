"""The keypad IVR: language → hub → province → record, every step signed (issue 3)."""

from __future__ import annotations

import pytest

from gateway.intake.models import Item
from gateway.voice.models import Call, Recording
from tests import support
from tests.voice import AUDIO, media_server, rows, run_voice_jobs, simulate, voice_env

WAV = (AUDIO / "ko_sentence_ulaw.wav").read_bytes()


def test_unsigned_or_wrongly_signed_voice_webhooks_are_refused(
        client: support.SignedClient) -> None:
    form = [("CallSid", "CA" + "a" * 32), ("From", "+93702345678"),
            ("AccountSid", support.ACCOUNT_SID)]
    for path in ("/twilio/voice", "/twilio/voice/menu/language", "/twilio/voice/recorded",
                 "/twilio/voice/recording-status", "/twilio/voice/status"):
        assert client.post(path, form, sign=False).status_code == 403
        assert client.post(path, form, headers={"x-twilio-signature": "bogus"}
                           ).status_code == 403
    assert rows(Call) == []


def test_keys_1_3_2_route_the_voicemail_to_the_chosen_province_in_dari(
        client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media):
        log = simulate(client, media, ["1", "3", "2"], WAV)
        assert all(status < 300 for status in log.statuses), log.steps
        # The caller heard the welcome, each menu and the thanks, as Dari recordings.
        assert "play fa/welcome" in log.steps and "play fa/thanks" in log.steps
        assert "play fa/hub_southeast" in log.steps, log.steps
        assert "play fa/province_AF12" in log.steps, log.steps
        [call] = rows(Call)
        assert (call.language, call.hub, call.province, call.step) == (
            "fa", "southeast", "AF12", "done")
        run_voice_jobs()
    [item] = support.items()
    assert item["channel"] == "voice" and item["province"] == "AF12"
    assert item["routing_reason"] == "ivr" and item["language"] == "fa"
    assert item["status"] == "queued"


def test_pashto_callers_hear_pashto_prompts(client: support.SignedClient) -> None:
    log = simulate(client, None, ["2", "0"], None, hang_up_before_record=True)
    assert "play ps/choose_hub" in log.steps and "play ps/record" in log.steps
    [call] = rows(Call)
    assert call.language == "ps" and call.province is None


def test_a_language_without_recordings_falls_back_to_the_configured_order(
        client: support.SignedClient) -> None:
    app = client.http.app
    app.state.settings = app.state.settings.model_copy(update={
        "ivr_languages": "fa,ps-Latn", "prompt_audio_fallback": "en,fa"})
    log = simulate(client, None, ["2", "0"], None, hang_up_before_record=True)
    assert "play en/choose_hub" in log.steps  # ps-Latn has no audio: English comes first
    [call] = rows(Call)
    assert call.language == "ps-Latn"


@pytest.mark.parametrize("pressed", ["#", "*", "12", ""])
def test_a_wrong_key_or_nothing_repeats_the_menu_twice_then_takes_the_safe_default(
        client: support.SignedClient, pressed: str) -> None:
    # Three bad answers to the language menu, then three to the hub menu.
    log = simulate(client, None, [pressed] * 6, None, hang_up_before_record=True)
    assert log.steps.count("play fa/choose_hub") == 3
    if pressed:
        assert "play fa/invalid" in log.steps  # a wrong key is told so; silence is not
    else:
        assert "play fa/invalid" not in log.steps
    [call] = rows(Call)
    assert (call.language, call.language_chosen, call.province, call.step) == (
        "fa", False, None, "record")


def test_the_caller_may_skip_the_province(client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media):
        simulate(client, media, ["3", "1", "0"], WAV)  # English, central hub, skip
        run_voice_jobs()
    [item] = support.items()
    assert item["language"] == "en" and item["province"] is None
    assert item["routing_reason"] == "unrouted"


def test_a_hang_up_keeps_the_choices_made(client: support.SignedClient) -> None:
    simulate(client, None, ["2", "6"], None)  # Pashto, north; hangs up at the province menu
    [call] = rows(Call)
    assert (call.language, call.hub, call.status) == ("ps", "north", "completed")
    assert rows(Recording) == [] and support.items() == []


def test_the_same_recording_callback_twice_makes_one_recording_and_one_item(
        client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media):
        log = simulate(client, media, ["1", "1", "1"], WAV, repeat_recording_callback=2)
        assert log.statuses.count(204) >= 2
        run_voice_jobs()
        assert media.fetched(log.recording_sid or "") == 1
    assert len(rows(Recording)) == 1
    assert len(rows(Item)) == 1


def test_recording_callback_for_an_unknown_call_is_refused(client: support.SignedClient) -> None:
    form = [("CallSid", "CA" + "b" * 32), ("AccountSid", support.ACCOUNT_SID),
            ("RecordingSid", "RE" + "c" * 32), ("RecordingStatus", "completed"),
            ("RecordingUrl", "https://api.twilio.com/x")]
    assert client.post("/twilio/voice/recording-status", form).status_code == 404


def test_a_caller_who_never_chose_a_language_is_filed_under_the_default_dari(
        client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media):
        simulate(client, media, ["#", "", "*", "0"], WAV)  # no language, then skip the hub
        run_voice_jobs()
    [item] = support.items()
    assert (item["language"], item["province"], item["status"]) == ("fa", None, "queued")


def test_a_recording_made_before_the_caller_hung_up_is_processed(
        client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media):
        log = simulate(client, media, ["3", "5", "1"], WAV, hang_up_while_recording=True)
        assert log.steps[-1] == "hang up" and "play en/thanks" not in log.steps
        run_voice_jobs()
    [item] = support.items()
    assert (item["language"], item["province"], item["status"]) == ("en", "AF23", "queued")
    assert item["audio"]


@pytest.mark.parametrize("pressed", ["²", "¹"])
def test_a_key_that_is_a_digit_only_to_unicode_is_a_wrong_key_not_a_500(
        client: support.SignedClient, pressed: str) -> None:
    # "²".isdigit() is true and int("²") raises: the call got a 500 (Twilio's "an application
    # error has occurred") instead of "wrong key" and the menu again.
    log = simulate(client, None, [pressed] * 6, None, hang_up_before_record=True)
    assert log.steps.count("play fa/choose_hub") == 3 and "play fa/invalid" in log.steps
    [call] = rows(Call)
    assert (call.language, call.language_chosen, call.step) == ("fa", False, "record")


def test_a_recording_duration_that_is_not_ascii_digits_keeps_the_voicemail(
        client: support.SignedClient) -> None:
    # The recording callback answered 500 for RecordingDuration "²": the voicemail was lost.
    with media_server() as media, voice_env(media):
        log = simulate(client, media, ["1", "1", "1"], WAV,
                       recording_seconds="²")  # type: ignore[arg-type]
        assert 204 in log.statuses
        run_voice_jobs()
    [recording] = rows(Recording)
    assert recording.duration_seconds is None
    assert len(rows(Item)) == 1
