"""The model options the server and a Triton node share: same names, defaults and checks."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from dalle_frame_server.__main__ import build_parser as server_parser
from dalle_frame_server.__main__ import settings_from_args
from dalle_frame_server.model_options import DOWNLOAD_URL_OPTIONS, model_settings
from dalle_frame_server.triton.serve import build_parser as node_parser


def _model_options(parser: argparse.ArgumentParser) -> dict[str, object]:
    """The parser's model options (those model_settings reads) and their defaults."""
    defaults = vars(parser.parse_args([]))
    fields = model_settings(parser.parse_args([]))
    return {name: value for name, value in defaults.items() if name in fields}


def test_the_node_takes_every_model_option_of_the_server() -> None:
    """A node loads the models as the server does, so it takes the same options."""
    server, node = _model_options(server_parser()), _model_options(node_parser())
    assert server == node
    assert set(DOWNLOAD_URL_OPTIONS) <= set(node)


def test_environment_configures_both(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same environment variables configure a node and the server."""
    monkeypatch.setenv("DALLE_FRAME_VAE_DECODER", "tiny")
    monkeypatch.setenv("DALLE_FRAME_DIFFUSION_DOWNLOAD_URL", "http://127.0.0.1:9/hub")
    monkeypatch.setenv("DALLE_FRAME_THREADS", "1")
    monkeypatch.setenv("DALLE_FRAME_MODELS_DIR", str(tmp_path))
    for parser in (server_parser(), node_parser()):
        fields = model_settings(parser.parse_args(["--model", "test-diffusion"]))
        assert fields["vae_decoder"] == "tiny" and fields["threads"] == 1
        assert fields["diffusion_download_url"] == "http://127.0.0.1:9/hub"
        assert fields["models_dir"] == tmp_path.resolve()


@pytest.mark.parametrize("option", DOWNLOAD_URL_OPTIONS)
def test_every_download_url_must_be_http(option: str) -> None:
    """A download URL that is not http(s) is refused, naming the option."""
    flag = "--" + option.replace("_", "-")
    for parser in (server_parser(), node_parser()):
        args = parser.parse_args(["--model", "test", flag, "ftp://mirror.invalid/"])
        with pytest.raises(ValueError, match=f"{flag} must be an http\\(s\\) URL"):
            model_settings(args)


def test_thread_count_and_port_are_checked() -> None:
    """Impossible numbers are refused with the option's name."""
    with pytest.raises(ValueError, match="--threads must be at least 1"):
        model_settings(node_parser().parse_args(["--threads", "0"]))
    with pytest.raises(ValueError, match=re.escape("--port must be 1..65535")):
        settings_from_args(server_parser().parse_args(["--port", "70000"]))


def test_the_node_takes_several_devices() -> None:
    """--device repeats on a node (one model instance per device), once on the server."""
    assert node_parser().parse_args(["--device", "cpu", "--device", "cpu"]).device == [
        "cpu",
        "cpu",
    ]
    assert server_parser().parse_args(["--device", "cpu"]).device == "cpu"
