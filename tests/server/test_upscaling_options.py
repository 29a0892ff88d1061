"""The upscaler's command-line options and environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from dalle_frame_server.__main__ import build_parser, settings_from_args


def test_upscaler_defaults_to_none_and_takes_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No option: none; DALLE_FRAME_UPSCALER and the download URL come from the environment."""
    monkeypatch.delenv("DALLE_FRAME_UPSCALER", raising=False)
    monkeypatch.delenv("DALLE_FRAME_UPSCALER_DOWNLOAD_URL", raising=False)
    settings = settings_from_args(build_parser().parse_args(["--models-dir", str(tmp_path)]))
    assert settings.upscaler == "none"
    assert settings.upscaler_download_url == "https://github.com"
    monkeypatch.setenv("DALLE_FRAME_UPSCALER", "realesr-general-x4v3")
    monkeypatch.setenv("DALLE_FRAME_UPSCALER_DOWNLOAD_URL", "http://127.0.0.1:9/mirror")
    settings = settings_from_args(build_parser().parse_args(["--models-dir", str(tmp_path)]))
    assert settings.upscaler == "realesr-general-x4v3"
    assert settings.upscaler_download_url == "http://127.0.0.1:9/mirror"
    settings = settings_from_args(build_parser().parse_args(["--upscaler", "test"]))
    assert settings.upscaler == "test"


def test_unknown_upscaler_and_bad_url_are_refused(capsys: pytest.CaptureFixture) -> None:
    """An unknown name is refused by argparse with the choices; a URL must be http(s)."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--upscaler", "esrgan-9000"])
    assert "realesr-general-x4v3" in capsys.readouterr().err
    args = build_parser().parse_args(["--upscaler-download-url", "ftp://example.org"])
    with pytest.raises(ValueError, match="--upscaler-download-url must be an http"):
        settings_from_args(args)
