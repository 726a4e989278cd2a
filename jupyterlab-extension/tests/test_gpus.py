"""nvidia-smi parsing against the shapes real drivers print
(docs/nvidia-smi-formats.md) and every failure the probe must survive."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cellmark.kernel import gpus

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
MiB = 1024 * 1024


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_eight_h100s():
    found, problems = gpus.parse_query(fixture("h100x8.csv"))
    assert problems == []
    assert [g["index"] for g in found] == list(range(8))
    assert found[0] == {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "memoryTotalBytes": 81559 * MiB,
        "driver": "550.54.15",
        "cuda": None,
        "uuid": "GPU-1f2e3d4c-0000-1111-2222-333344445555",
    }


def test_rows_come_in_any_order_and_old_names_have_no_prefix():
    found, _ = gpus.parse_query(fixture("mixed-out-of-order.csv"))
    assert [(g["index"], g["name"]) for g in found] == [(0, "NVIDIA A100-SXM4-40GB"), (1, "GeForce RTX 2060")]


def test_missing_values_are_null_per_field():
    (gb10,), _ = gpus.parse_query(fixture("gb10-unified-memory.csv"))
    assert gb10["memoryTotalBytes"] is None and gb10["driver"] == "580.95.05" and gb10["name"] == "NVIDIA GB10"
    found, problems = gpus.parse_query(fixture("not-supported.csv"))
    assert problems == []
    assert [g["memoryTotalBytes"] for g in found] == [None, None, None]
    assert found[0]["uuid"] is None and found[1]["uuid"].startswith("GPU-dddd")


def test_units_left_in_are_understood():
    (h200,), _ = gpus.parse_query(fixture("units-kept.csv"))
    assert h200["memoryTotalBytes"] == 143771 * MiB


def test_a_lost_gpu_does_not_hide_the_others():
    found, problems = gpus.parse_query(fixture("one-gpu-lost.csv"))
    assert [g["index"] for g in found] == [0, 2]
    assert len(problems) == 1 and "GPU is lost" in problems[0]


def test_a_comma_in_a_name_is_kept():
    (g,), _ = gpus.parse_query("0, Weird, Name, 1024, 1.0, GPU-x")
    assert g["name"] == "Weird, Name" and g["memoryTotalBytes"] == 1024 * MiB


def test_cuda_version_from_the_header():
    assert gpus.parse_cuda_version(fixture("header-h100.txt")) == "12.4"
    assert gpus.parse_cuda_version(fixture("header-old-driver.txt")) is None
    assert gpus.parse_cuda_version(fixture("recorded-h100-header.txt")) == "13.0"


def test_recorded_h100_inventory():
    (h100,), problems = gpus.parse_query(fixture("recorded-h100-inventory.csv"))
    assert problems == []
    assert h100 == {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "memoryTotalBytes": 81559 * MiB,
        "driver": "580.159.04",
        "cuda": None,
        "uuid": "GPU-e0bec45d-c3f4-4808-5e79-3e4c768304a6",
    }


class FakeSmi:
    """Answers like nvidia-smi: the query, then the plain header."""

    def __init__(self, query: tuple, header: tuple = (0, "")):
        self.answers = {"query": query, "header": header}
        self.calls = []

    def __call__(self, args, timeout):
        self.calls.append(args)
        answer = self.answers["query" if len(args) > 1 else "header"]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def which_found(name):
    return "/usr/bin/nvidia-smi"


def test_collect_fills_in_cuda():
    smi = FakeSmi((0, fixture("h100x8.csv")), (0, fixture("header-h100.txt")))
    env = gpus.collect(smi, which_found)
    assert env["gpuError"] is None and len(env["gpus"]) == 8
    assert {g["cuda"] for g in env["gpus"]} == {"12.4"}
    assert smi.calls[0] == ["/usr/bin/nvidia-smi", *gpus.QUERY]


def test_collect_without_nvidia_smi():
    assert gpus.collect(FakeSmi((0, "")), lambda name: None) == {
        "gpus": [],
        "gpuError": "no NVIDIA GPU found: nvidia-smi not on PATH",
    }


@pytest.mark.parametrize(
    "name,status,expected",
    [
        (
            "driver-down.txt",
            9,
            "nvidia-smi failed (exit status 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
        ),
        (
            "nvml-mismatch.txt",
            18,
            "Failed to initialize NVML: Driver/library version mismatch NVML library version: 570.124",
        ),
        ("no-devices.txt", 6, "no NVIDIA GPU found"),
    ],
)
def test_collect_failures_say_why(name, status, expected):
    env = gpus.collect(FakeSmi((status, fixture(name))), which_found)
    assert env["gpus"] == []
    assert expected in env["gpuError"]


def test_collect_with_a_lost_gpu_keeps_the_rest_and_says_so():
    env = gpus.collect(FakeSmi((15, fixture("one-gpu-lost.csv")), (0, fixture("header-h100.txt"))), which_found)
    assert [g["index"] for g in env["gpus"]] == [0, 2]
    assert "GPU is lost" in env["gpuError"] and "exit status 15" in env["gpuError"]


def test_collect_survives_a_hanging_or_broken_nvidia_smi():
    env = gpus.collect(FakeSmi(subprocess.TimeoutExpired("nvidia-smi", 15)), which_found)
    assert env == {"gpus": [], "gpuError": "nvidia-smi did not answer within 15 s"}
    env = gpus.collect(FakeSmi(PermissionError("denied")), which_found)
    assert env["gpus"] == [] and "PermissionError: denied" in env["gpuError"]
    env = gpus.collect(FakeSmi((0, fixture("units-kept.csv")), OSError("header broke")), which_found)
    assert len(env["gpus"]) == 1 and env["gpus"][0]["cuda"] is None and "CUDA version unavailable" in env["gpuError"]


def test_collect_on_this_machine_never_raises():
    env = gpus.collect()
    assert isinstance(env["gpus"], list)
    assert env["gpus"] or env["gpuError"]
