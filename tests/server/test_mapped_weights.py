"""Weights used in place from their memory-mapped files, and released between a request's phases.

On a CPU in float32 the networks read the weights straight from the files (no copy); the fast
backend keeps only the working network's pages resident. The pixels must not change: the
same request gives the same image before and after every release (and the equality tests of
test_fast_exact.py compare the mapped weights with stock min-dalle).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dalle_frame_server.generation.generator import MinDalleGenerator
from dalle_frame_server.generation.interface import decode_one
from dalle_frame_server.generation.min_dalle.fast import FastBackend
from dalle_frame_server.generation.min_dalle.int8_raw import Int8Backend
from dalle_frame_server.generation.models.loading import (
    DalleModules,
    ModelPaths,
    load_dalle_modules,
)
from dalle_frame_server.generation.models.memory import MappedWeights
from dalle_frame_server.generation.models.shapes import TEST_SHAPE
from dalle_frame_server.generation.text_to_image import GenerationRequest

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = torch.device("cpu")
NETWORKS = ("encoder", "decoder", "detokenizer")


def _load(paths: ModelPaths, dtype: torch.dtype = torch.float32) -> DalleModules:
    return load_dalle_modules(paths, TEST_SHAPE, CPU, dtype, remedy="rebuild the test model")


def _file_of(address: int) -> str | None:
    """The file mapped at `address` in this process (None: anonymous), from /proc/self/maps."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        low, high = (int(part, 16) for part in fields[0].split("-"))
        if low <= address < high:
            name = fields[5] if len(fields) == 6 else ""
            return name if name.startswith("/") else None  # not "[heap]" and the like
    return None


def _generator(modules: DalleModules, backend: FastBackend) -> MinDalleGenerator:
    return MinDalleGenerator(modules, backend, model_name="test", device=CPU, dtype=torch.float32)


def test_float32_weights_are_used_in_place_from_their_files(test_model_paths: ModelPaths) -> None:
    """Every network's parameters are views into a mapping of its own file: nothing copied."""
    modules = _load(test_model_paths)
    assert set(modules.mapped) == set(NETWORKS)
    files = {
        "encoder": test_model_paths.encoder,
        "decoder": test_model_paths.decoder,
        "detokenizer": test_model_paths.detokenizer,
    }
    for name in NETWORKS:
        network = getattr(modules, name)
        weight = next(parameter for parameter in network.parameters() if parameter.numel() > 1000)
        assert Path(_file_of(weight.data_ptr()) or "").samefile(files[name])
        mapped = modules.mapped[name]
        assert mapped.start <= weight.data_ptr() < mapped.start + mapped.length


def test_other_dtypes_are_copied_and_never_released(test_model_paths: ModelPaths) -> None:
    """A dtype unlike the file's needs a copy: the networks own their memory, none is mapped."""
    modules = _load(test_model_paths, torch.bfloat16)
    assert set(modules.mapped) == {"detokenizer"}  # the VQGAN always runs in float32
    weight = modules.decoder.layers[0].glu.fc0.weight
    assert weight.dtype == torch.bfloat16
    assert _file_of(weight.data_ptr()) is None  # anonymous memory


def test_only_a_file_mapping_can_be_released(tmp_path: Path) -> None:
    """`MappedWeights` refuses anonymous tensors (a release would zero them) and other files."""
    path = tmp_path / "weights.pt"
    other = tmp_path / "other.pt"
    torch.save({"w": torch.arange(4 * 2**20, dtype=torch.float32)}, path)
    torch.save({"w": torch.zeros(4)}, other)
    mapped = torch.load(path, mmap=True, weights_only=True)["w"]
    assert MappedWeights.of_tensors(path, [torch.ones(2**20)]) is None
    assert MappedWeights.of_tensors(other, [mapped]) is None
    assert MappedWeights.of_tensors(path, []) is None
    weights = MappedWeights.of_tensors(path, [mapped])
    assert weights is not None
    total = float(mapped.sum())  # reads every page
    assert weights.resident_bytes() >= 15 * 2**20
    assert weights.release() >= 15 * 2**20
    assert weights.resident_bytes() < 2**20
    assert float(mapped.sum()) == total  # the same bytes, read again from the file


def test_only_the_working_network_stays_resident(test_model_paths: ModelPaths) -> None:
    """After building, no mapped page is held; each phase releases the others' pages."""
    modules = _load(test_model_paths)
    backend = FastBackend(modules)
    resident = {name: modules.mapped[name].resident_bytes for name in NETWORKS}
    # The file's zip headers and the pages a range only partly covers may stay: a few pages.
    page = 16 * 4096
    assert all(resident[name]() <= page for name in NETWORKS)
    generator = _generator(modules, backend)
    request = GenerationRequest(prompt="a lighthouse in a storm", seed=3)
    with torch.inference_mode():
        decode = generator.decode_request(request)
        assert resident["encoder"]() > 0
        tokens = decode_one(backend, decode)
        assert resident["encoder"]() <= page
        assert resident["decoder"]() > 1_000_000  # the test decoder's layers, 4 MB
        backend.detokenize(tokens)
        assert resident["decoder"]() <= page
        assert resident["detokenizer"]() > 100_000_000  # the full-size VQGAN
        generator.decode_request(request)
        assert resident["detokenizer"]() <= page


@pytest.mark.parametrize("backend_class", [FastBackend, Int8Backend])
def test_images_survive_releases(test_model_paths: ModelPaths, backend_class: type) -> None:
    """The same request after every network was released and read back: the same pixels,
    and (fast) the same pixels as a backend over copied weights."""
    modules = _load(test_model_paths)
    generator = _generator(modules, backend_class(modules))
    request = GenerationRequest(prompt="an alpine lake at dawn", seed=11)
    first = generator.generate(request).tobytes()
    generator.backend.residency.release_all()
    assert generator.generate(request).tobytes() == first
    if backend_class is FastBackend:
        # The same weights copied into the process's own memory: the same pixels.
        owned = _load(test_model_paths)
        own = DalleModules(
            owned.tokenizer,
            _owned(owned.encoder),
            _owned(owned.decoder),
            _owned(owned.detokenizer),
            owned.shape,
        )
        assert _generator(own, FastBackend(own)).generate(request).tobytes() == first


def _owned(network: torch.nn.Module) -> torch.nn.Module:
    """Give every parameter of `network` its own (anonymous) copy of its data."""
    with torch.no_grad():
        for module in network.modules():
            for name, parameter in list(module.named_parameters(recurse=False)):
                setattr(module, name, torch.nn.Parameter(parameter.clone(), requires_grad=False))
    assert all(_file_of(parameter.data_ptr()) is None for parameter in network.parameters())
    return network
