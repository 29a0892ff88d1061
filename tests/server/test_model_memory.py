"""Memory helpers: file pages of loaded weights can be let go without losing the data."""

from __future__ import annotations

from pathlib import Path

import torch

from dalle_frame_server.generation.models.memory import drop_mapped_pages


def _resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_dropping_mapped_weight_pages_lowers_rss_and_keeps_the_data(tmp_path: Path) -> None:
    """A memory-mapped 64 MiB tensor, once read, leaves the resident set when dropped."""
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.arange(16 * 2**20, dtype=torch.float32)}, path)
    mapped = torch.load(path, mmap=True, weights_only=True)["w"]
    total = float(mapped.sum())  # reads every page
    before = _resident_mib()
    dropped = drop_mapped_pages([mapped])
    after = _resident_mib()
    assert dropped >= 63 * 2**20
    assert before - after > 48
    assert float(mapped.sum()) == total  # read back from the file


def test_keeping_freed_memory_is_accepted_by_glibc() -> None:
    """On glibc (these machines) the allocator settings take effect; elsewhere nothing breaks.

    Run in a child process: the setting is process-wide and would outlive this test.
    """
    import platform
    import subprocess
    import sys

    code = (
        "from dalle_frame_server.generation.models.memory import keep_freed_memory;"
        "print(keep_freed_memory())"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert completed.stdout.strip() == str(platform.libc_ver()[0] == "glibc")


def test_freed_heap_memory_goes_back_to_the_system() -> None:
    """After many freed blocks, `return_freed_memory` hands their pages back (glibc)."""
    import platform
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from pathlib import Path\n"
        "from dalle_frame_server.generation.models.memory import keep_freed_memory, "
        "return_freed_memory\n"
        "def anon():\n"
        "    for line in Path('/proc/self/status').read_text().splitlines():\n"
        "        if line.startswith('RssAnon:'):\n"
        "            return int(line.split()[1]) // 1024\n"
        "keep_freed_memory()\n"
        "kept, freed = [], []\n"
        "for _ in range(64):\n"
        "    freed.append(torch.ones(2**20)); kept.append(torch.ones(16))\n"
        "freed.clear()\n"
        "before = anon()\n"
        "print(return_freed_memory(), before - anon())\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    available, returned_mib = completed.stdout.split()
    assert available == str(platform.libc_ver()[0] == "glibc")
    if available == "True":
        assert int(returned_mib) > 128  # most of the 256 MiB freed between kept blocks
