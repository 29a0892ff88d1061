"""The token never appears in logs, errors or config dumps."""

from __future__ import annotations

import logging
import wave

from gpiozero import Device

from dalle_frame_satellite.__main__ import settings_dump
from dalle_frame_satellite.satellite import Satellite
from dalle_frame_satellite.secret import REDACTED, RedactingFilter, Secret
from tests.satellite.conftest import TOKEN, running, wait_connected, wait_shown, wait_until
from tests.satellite.fake_ha import palette_png


async def test_token_never_logged_during_a_full_session(fake_ha, make_settings, tmp_path, caplog):
    """Debug logs of connect, auth, fetch, STT, service calls and reconnects hold no token."""
    caplog.set_level(logging.DEBUG)
    wav = tmp_path / "silence.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 1600)
    await fake_ha.set_frame(palette_png(seed=1))
    fake_ha.generated_png = palette_png(seed=2)
    satellite = Satellite(make_settings(fake_ha.url, audio={"wav_file": str(wav)}))
    async with running(satellite):
        await wait_shown(satellite, None)
        for count, pin in enumerate((5, 16), start=1):  # A: regenerate, C: speak
            Device.pin_factory.pin(pin).drive_low()
            Device.pin_factory.pin(pin).drive_high()
            await wait_until(lambda n=count: len(fake_ha.calls) == n)
            await satellite.wait_action()
        await fake_ha.drop_connections()
        await wait_connected(satellite)
        fake_ha.token = "rotated-token-abcdef123456"  # HA no longer accepts ours
        await fake_ha.drop_connections()
        await wait_until(lambda: "rejected the access token" in caplog.text)
    assert len(fake_ha.stt_requests) == 1 and len(fake_ha.calls) == 2
    assert TOKEN not in caplog.text
    assert all(TOKEN not in repr(record.__dict__) for record in caplog.records)


def test_settings_dump_redacts_the_token(make_settings) -> None:
    """--print-config's data shows where the token comes from, never the token."""
    dump = settings_dump(make_settings("http://127.0.0.1:8123"))
    assert dump["home_assistant"]["token"].startswith(REDACTED)
    assert TOKEN not in repr(dump)


def test_secret_hides_itself() -> None:
    """str, repr and f-strings of a Secret show asterisks."""
    secret = Secret(TOKEN)
    assert TOKEN not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == TOKEN


def test_redacting_filter_scrubs_messages_and_tracebacks() -> None:
    """Defence in depth: a token that slipped into a message or an exception is replaced."""
    redactor = RedactingFilter()
    redactor.add(Secret(TOKEN))
    logger = logging.getLogger("test.redaction")
    logger.setLevel(logging.INFO)
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(redactor)
    logger.addHandler(handler)
    try:
        logger.error("header was Bearer %s", TOKEN)
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            logger.exception("failed")
        logger.info("harmless %s", "text")
    finally:
        logger.removeHandler(handler)
    assert all(TOKEN not in line for line in records)
    assert records[0] == f"header was Bearer {REDACTED}"
    assert f"ValueError: bad token {REDACTED}" in records[1]
    assert records[2] == "harmless text"
