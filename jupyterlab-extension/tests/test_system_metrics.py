"""System metrics: nvidia-smi and NVML readings against fixtures in the formats the real tools
print (tests/fixtures/nvidia-smi, tests/fixtures/nvml), per-field failure isolation, the
fake nvidia-smi streaming with -lms, psutil host stats, the sampler thread, its overhead,
and the session spooling samples as `system/*` metrics with their own step."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from conftest import wait_until
from fakes import pynvml as fake_nvml

import cellmark
import cellmark.kernel as ck
from cellmark.kernel import gpu_sources, system_metrics
from cellmark.kernel.gpu_sources import readings
from cellmark.kernel.gpu_sources import smi as gpu_smi
from cellmark.kernel.session import SESSION

HERE = Path(__file__).resolve().parent
SMI = HERE / "fixtures" / "nvidia-smi"
NVML = HERE / "fixtures" / "nvml"
FAKE_BIN = HERE / "fakes" / "bin"
MIB = 1024 * 1024
TOKEN = "cm_" + "sy5tem" * 6


def smi(name: str) -> str:
    return (SMI / name).read_text()


# -- nvidia-smi parsing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, row",
    [
        (
            "sample-h100.csv",
            {
                "uuid": "GPU-1f2e3d4c-0000-1111-2222-333344445555",
                "util": 87.0,
                "mem_used_mib": 12595.0,
                "mem_total_mib": 81559.0,
                "power_w": 312.45,
                "power_limit_w": 700.0,
                "temp_c": 64.0,
                "sm_clock_mhz": 1980.0,
            },
        ),
        (
            "recorded-h100-sample-idle.csv",
            {
                "uuid": "GPU-e0bec45d-c3f4-4808-5e79-3e4c768304a6",
                "util": 0.0,
                "mem_used_mib": 0.0,
                "mem_total_mib": 81559.0,
                "power_w": 76.79,
                "power_limit_w": 700.0,
                "temp_c": 35.0,
                "sm_clock_mhz": 345.0,
            },
        ),
    ],
)
def test_one_h100_row(name, row):
    rows, problems = gpu_smi.parse_smi_rows(smi(name))
    assert problems == []
    assert rows == {"0": row}


def test_recorded_h100_row_with_header_and_units_reads_as_without():
    plain, _ = gpu_smi.parse_smi_rows(smi("recorded-h100-sample-idle.csv"))
    with_units, problems = gpu_smi.parse_smi_rows(smi("recorded-h100-sample-units.csv"))
    assert with_units == plain  # units are read
    assert problems == [smi("recorded-h100-sample-units.csv").splitlines()[0]]  # a header is no row


def test_a_loop_of_four_gpus_out_of_order_is_keyed_by_index():
    rows, _ = gpu_smi.parse_smi_rows(smi("sample-h100x4-loop.csv"))
    assert sorted(rows) == ["0", "1", "2", "3"]
    assert rows["1"]["util"] == 0.0 and rows["3"]["power_w"] == 688.91


@pytest.mark.parametrize(
    "name, missing, present",
    [
        ("sample-a100-mig.csv", {"util"}, {"mem_used_mib", "power_w"}),
        ("sample-gb10.csv", {"mem_used_mib", "mem_total_mib", "power_limit_w"}, {"util", "power_w", "temp_c"}),
    ],
)
def test_na_fields_are_missing_not_zero(name, missing, present):
    (row,), _ = gpu_smi.parse_smi_rows(smi(name)).__getitem__(0).values(), None
    assert not missing & set(row) and present <= set(row)


def test_not_supported_and_bare_na_per_field():
    rows, problems = gpu_smi.parse_smi_rows(smi("sample-old-driver.csv"))
    assert problems == []
    assert rows["0"] == {
        "uuid": None,
        "mem_used_mib": 300.0,
        "mem_total_mib": 1998.0,
        "temp_c": 44.0,
        "sm_clock_mhz": 1058.0,
    }
    assert "util" not in rows["1"] and "power_w" not in rows["1"] and rows["1"]["mem_used_mib"] == 1.0


def test_units_left_in_are_read():
    rows, _ = gpu_smi.parse_smi_rows(smi("sample-units-kept.csv"))
    assert rows["0"]["util"] == 100.0 and rows["0"]["mem_used_mib"] == 130013.0 and rows["0"]["power_w"] == 650.12
    assert rows["0"]["sm_clock_mhz"] == 1980.0


def test_a_lost_gpu_is_a_problem_and_the_others_stay():
    rows, problems = gpu_smi.parse_smi_rows(smi("sample-one-gpu-lost.csv"))
    assert sorted(rows) == ["0", "2"] and len(problems) == 1 and "GPU is lost" in problems[0]


@pytest.mark.parametrize("name", ["driver-down.txt", "nvml-mismatch.txt", "no-devices.txt"])
def test_whole_tool_failures_are_no_rows(name):
    rows, problems = gpu_smi.parse_smi_rows(smi(name))
    assert rows == {} and problems


def test_compute_apps_sum_the_process_tree_only():
    apps, problems = gpu_smi.parse_compute_apps(smi("compute-apps.csv"))
    assert problems == []
    gpu0 = apps["GPU-1f2e3d4c-0000-1111-2222-333344445555"]
    assert readings.tree_memory(gpu0, [4242, 4243]) == 12288.0
    assert readings.tree_memory(gpu0, [1]) == 0.0  # the kernel uses none: a real 0
    wddm, _ = gpu_smi.parse_compute_apps(smi("compute-apps-wddm.csv"))
    assert readings.tree_memory(wddm["GPU-1f2e3d4c-0000-1111-2222-333344445555"], [4242]) is None
    assert gpu_smi.parse_compute_apps(smi("compute-apps-none.csv")) == ({}, [])


def test_mem_util_is_the_share_of_memory_used():
    assert readings.with_mem_util({"mem_used_mib": 20.0, "mem_total_mib": 80.0})["mem_util"] == 25.0
    assert "mem_util" not in readings.with_mem_util({"mem_used_mib": 20.0})


# -- NVML through the fake pynvml -----------------------------------------------------------


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch):
    def use(name: str):
        fake_nvml.load(NVML / name)
        return fake_nvml

    monkeypatch.setenv("FAKE_NVML_PID", "4242")
    yield use
    fake_nvml._data = None  # the next test starts without a fixture


def test_nvml_two_h100s_in_our_units(nvml):
    source = gpu_sources.NvmlSource(nvml("h100x2.json"))
    sample = source.read([4242])
    assert sample["0"] == pytest.approx(
        {
            "util": 87.0,
            "mem_used_mib": 13206814720 / MIB,
            "mem_total_mib": 85520809984 / MIB,
            "mem_util": 100 * 13206814720 / 85520809984,
            "power_w": 312.451,
            "power_limit_w": 700.0,
            "temp_c": 64.0,
            "sm_clock_mhz": 1980.0,
            "pcie_rx_mbps": 340.0,
            "pcie_tx_mbps": 12.0,
            "proc_mem_mib": 10240.0,
        },
        rel=1e-3,
    )
    assert sample["1"]["proc_mem_mib"] == 0.0 and sample["1"]["util"] == 0.0
    assert sample["1"]["mem_used_mib"] == 4.0  # as nvidia-smi shows it: the driver's reserved 480 MiB left out
    assert sorted(sample) == ["0", "1"]


def test_nvml_recorded_h100_under_load_reads_as_nvidia_smi_did(nvml):
    # Recorded by scripts/gpu-check.py on an H100 (driver 580.159.04) under a torch load:
    # nvidia-smi said 1395 MiB used in the same second; NVML's v1 struct said 1874.8 MiB
    # (the driver's 480 MiB reserved counted as used).
    source = gpu_sources.NvmlSource(nvml("h100-recorded.json"))
    sample = source.read([4242])["0"]
    assert sample["mem_used_mib"] == 1394.8125 and round(sample["mem_used_mib"]) == 1395
    assert sample["mem_total_mib"] == 81559.0 and sample["mem_util"] == pytest.approx(1.71, abs=0.005)
    assert sample["proc_mem_mib"] == 1386.0 and sample["util"] == 59.0 and sample["power_w"] == pytest.approx(405.138)
    assert sample["pcie_rx_mbps"] == pytest.approx(0.63) and source.problems == {}


def test_nvml_mig_instances_are_devices_of_their_own(nvml):
    source = gpu_sources.NvmlSource(nvml("a100-mig.json"))
    sample = source.read([4242])
    assert sorted(sample) == ["0", "0.mig0", "0.mig1"]
    assert "util" not in sample["0"] and sample["0"]["power_w"] == pytest.approx(68.2)
    assert sample["0.mig0"]["proc_mem_mib"] == pytest.approx(8000.0) and sample["0.mig0"][
        "mem_total_mib"
    ] == pytest.approx(9984.0)
    assert "util" not in sample["0.mig1"] and "power_w" not in sample["0.mig1"]


def test_nvml_each_field_fails_alone_and_not_supported_is_not_asked_again(nvml):
    fake = nvml("field-errors.json")
    source = gpu_sources.NvmlSource(fake)
    assert [d for d, _ in source.devices] == ["0", "2"]  # GPU 1 lost at its handle
    assert source.problems["1"] == "NVMLError_GpuIsLost: GPU is lost"
    first = source.read([4242])
    assert first["0"] == {
        "mem_used_mib": 300.0,
        "mem_total_mib": 1998.0,
        "mem_util": pytest.approx(15.015, rel=1e-3),
        "temp_c": 44.0,
        "sm_clock_mhz": 1058.0,
    }
    assert first["2"] == {"util": 3.0, "temp_c": 38.0, "sm_clock_mhz": 324.0}  # memory lost, process memory None (WDDM)
    assert "NVMLError_Unknown" in source.problems["0.pcie_rx_mbps"]
    assert "NVMLError_NoPermission" in source.problems["0.proc_mem_mib"]
    fake.calls.clear()
    source.read([4242])
    asked = {name for name, dev in fake.calls if dev == "0"}
    assert "utilization" not in asked and "power_mw" not in asked  # Not Supported: asked once
    assert "pcie_rx_kbps" in asked and "processes" in asked  # other errors may pass: asked again
    assert ("memory_v2", "0") not in fake.calls and ("memory", "0") in fake.calls  # driver 390 has no v2: v1 only
    assert ("memory_v2", "2") in fake.calls  # a lost GPU's error is no reason to give up v2


@pytest.mark.parametrize(
    "name, why",
    [
        ("init-driver-not-loaded.json", "NVML: Driver Not Loaded"),
        ("init-version-mismatch.json", "NVML: RM has detected an NVML/RM version mismatch."),
        ("no-devices.json", "NVML: NVML found no usable devices"),
    ],
)
def test_no_gpu_reason_names_nvml_and_nvidia_smi(nvml, name, why):
    nvml(name)
    source, reason = gpu_sources.open_source(2.0, import_nvml=lambda: fake_nvml, which=lambda _: None)
    assert source is None
    assert reason == f"no NVIDIA GPU found ({why}; nvidia-smi is not on PATH)"


def test_no_nvidia_ml_py_and_no_nvidia_smi():
    def missing():
        raise ImportError("No module named 'pynvml'")

    source, reason = gpu_sources.open_source(2.0, import_nvml=missing, which=lambda _: None)
    assert (source, reason) == (
        None,
        "no NVIDIA GPU found (NVML: nvidia-ml-py is not installed; nvidia-smi is not on PATH)",
    )


def test_nvml_inventory_for_the_environment(nvml):
    fake = nvml("h100x2.json")
    fake.nvmlInit()
    gpus, _ = gpu_sources.nvml_inventory(fake)
    assert gpus[0] == {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "memoryTotalBytes": 85520809984,
        "driver": "550.54.15",
        "cuda": "12.4",
        "uuid": "GPU-1f2e3d4c-0000-1111-2222-333344445555",
    }


# -- the fake nvidia-smi on PATH --------------------------------------------------------------


@pytest.fixture
def fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    log = tmp_path / "nvidia-smi.log"
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_NVIDIA_SMI_LOG", str(log))
    monkeypatch.setenv("FAKE_NVIDIA_SMI_PID", str(os.getpid()))
    for name in ("FAKE_NVIDIA_SMI_FAIL", "FAKE_NVIDIA_SMI_QUERY", "FAKE_NVIDIA_SMI_APPS"):
        monkeypatch.delenv(name, raising=False)
    return log


def no_nvml():
    raise ImportError("No module named 'pynvml'")


def test_nvidia_smi_streams_from_one_process(fake_smi, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAKE_NVIDIA_SMI_QUERY", "sample-h100x4-loop.csv")
    monkeypatch.setenv("FAKE_NVIDIA_SMI_APPS", "compute-apps.csv")
    source, reason = gpu_sources.open_source(0.5, import_nvml=no_nvml)
    assert reason is None and source.name == "nvidia-smi"
    try:
        samples = []
        for _ in range(4):
            samples.append(source.read([os.getpid()]))
            time.sleep(0.5)
        assert all(sorted(s) == ["0", "1", "2", "3"] for s in samples)
        assert samples[0]["0"]["proc_mem_mib"] == 10240.0 and samples[0]["3"]["proc_mem_mib"] == 512.0
        assert samples[0]["1"]["proc_mem_mib"] == 0.0
        assert samples[-1]["0"]["util"] == 99.0 and "uuid" not in samples[-1]["0"]
    finally:
        source.close()
    calls = fake_smi.read_text().splitlines()
    assert sum("--query-gpu=" in c for c in calls) == 1  # one long-lived stream, not a process per sample
    assert calls[0] == " ".join([*gpu_smi.SMI_QUERY, "-lms", "500"])
    assert sum("--query-compute-apps=" in c for c in calls) == 1  # every 30 s


def test_nvidia_smi_driver_down_is_the_reason(fake_smi, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAKE_NVIDIA_SMI_FAIL", "driver-down.txt")
    source, reason = gpu_sources.open_source(0.5, import_nvml=no_nvml)
    assert source is None
    assert reason == (
        "no NVIDIA GPU found (NVML: nvidia-ml-py is not installed; nvidia-smi failed (exit status 9): "
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that "
        "the latest NVIDIA driver is installed and running.)"
    )


def test_nvidia_smi_lost_gpu_keeps_the_others(fake_smi, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAKE_NVIDIA_SMI_QUERY", "sample-one-gpu-lost.csv")
    source, _ = gpu_sources.open_source(0.5, import_nvml=no_nvml)
    try:
        assert sorted(source.read([1])) == ["0", "2"]
        assert "GPU is lost" in source.problems["nvidia-smi"]
    finally:
        source.close()


# -- host stats and the sampler thread ---------------------------------------------------------

HOST_KEYS = {
    "system/cpu.process_pct",
    "system/cpu.system_pct",
    "system/mem.process_rss_mib",
    "system/mem.system_used_mib",
    "system/mem.system_total_mib",
    "system/disk.read_mbps",
    "system/disk.write_mbps",
    "system/net.recv_mbps",
    "system/net.sent_mbps",
}


def test_host_stats_rates_after_the_first_sample():
    host = system_metrics.HostStats()
    started = time.monotonic()
    first = host.read()
    assert "system/cpu.process_pct" not in first and first["system/mem.process_rss_mib"] > 1
    end = time.process_time() + 0.2
    while time.process_time() < end:  # burn 0.2 s of CPU
        pass
    second = host.read()
    wall = time.monotonic() - started
    assert HOST_KEYS - {"system/disk.read_mbps", "system/disk.write_mbps"} <= set(second)  # no disks in some containers
    # at least the 0.2 s burned over at most the wall time around both reads (a busy machine
    # stretches the wall time, so the share is relative to it, not a fixed percentage)
    assert second["system/cpu.process_pct"] >= 0.9 * 0.2 / wall * 100


def test_interval_is_checked():
    assert system_metrics.check_interval("0.5") == 0.5 and system_metrics.check_interval(60) == 60.0
    for bad in (0.4, 61, "fast", None, True):
        with pytest.raises(ValueError, match=r"between 0\.5 and 60"):
            system_metrics.check_interval(bad)


def test_interval_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CELLMARK_SYSTEM_INTERVAL", "5")
    assert system_metrics.interval_from_env() == (5.0, None)
    monkeypatch.setenv("CELLMARK_SYSTEM_INTERVAL", "off")
    assert system_metrics.interval_from_env() == (None, None)
    monkeypatch.setenv("CELLMARK_SYSTEM_INTERVAL", "0.1")
    seconds, error = system_metrics.interval_from_env()
    assert seconds == 2.0 and "CELLMARK_SYSTEM_INTERVAL must be between 0.5 and 60 seconds, not '0.1'" in error


def test_sampler_overhead_with_psutil_and_the_fake_nvidia_smi(fake_smi, monkeypatch: pytest.MonkeyPatch):
    """The sampler thread's own CPU time per sample, with psutil and the nvidia-smi stream
    (compute-apps included). Below 1% of one core at 2 s means below 20 ms per sample."""
    monkeypatch.setenv("FAKE_NVIDIA_SMI_QUERY", "sample-h100x4-loop.csv")
    monkeypatch.setenv("FAKE_NVIDIA_SMI_APPS", "compute-apps.csv")
    got = []
    sampler = system_metrics.SystemSampler(
        lambda values, view: got.append((values, view)),
        0.5,
        open_gpus=lambda s: gpu_sources.open_source(s, import_nvml=no_nvml),
    )
    sampler.start()
    try:
        wait_until(lambda: len(got) >= 6, timeout=30)
    finally:
        sampler.stop()
    values, view = got[-1]
    assert HOST_KEYS - {"system/disk.read_mbps", "system/disk.write_mbps"} <= set(values)
    assert values["system/gpu.0.util"] == 99.0 and values["system/gpu.0.proc_mem_mib"] == 10240.0
    assert [d["id"] for d in view["devices"]] == ["0", "1", "2", "3"] and view["error"] is None
    state = sampler.state()
    print(
        f"\nsampler CPU per sample: {state['cpuMsPerSample']} ms "
        f"({state['cpuMsPerSample'] / 2000 * 100:.3f}% of one core at 2 s)"
    )
    assert state["cpuMsPerSample"] < 20


def test_sampler_without_gpus_says_why_once(fake_smi, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAKE_NVIDIA_SMI_FAIL", "no-devices.txt")
    got = []
    sampler = system_metrics.SystemSampler(
        lambda values, view: got.append((values, view)),
        0.5,
        open_gpus=lambda s: gpu_sources.open_source(s, import_nvml=no_nvml),
    )
    sampler.start()
    try:
        wait_until(lambda: len(got) >= 3, timeout=30)
    finally:
        sampler.stop()
    assert all(not any(k.startswith("system/gpu.") for k in values) for values, _ in got)
    assert (
        sampler.gpu_error
        == "no NVIDIA GPU found (NVML: nvidia-ml-py is not installed; nvidia-smi failed (exit status 9): No devices were found)"
    )
    assert sum("--query-gpu=" in c for c in fake_smi.read_text().splitlines()) == 1  # tried once, not every sample


# -- the session: spooled as system/* metrics with their own step ------------------------------


def test_samples_are_metrics_with_their_own_step(shell, fake, spool_root, fake_smi, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CELLMARK_SYSTEM_INTERVAL", "0.5")
    monkeypatch.setattr(gpu_sources, "_import_nvml", lambda: (_ for _ in ()).throw(ImportError("no pynvml")))
    run_id = str(uuid.uuid4())
    ck.activate(fake.url, TOKEN, run_id, "s.ipynb")
    cellmark.log({"loss": 1.0})
    cellmark.log({"loss": 0.5})

    def system_points():
        assert ck.flush(10)
        pts = [p for r in fake.calls("ingest.metrics") for p in r["body"]["points"] if p["key"] == "system/gpu.0.util"]
        assert len(pts) >= 3
        return pts

    pts = wait_until_ok(system_points)
    assert [p["step"] for p in pts][:3] == [0, 1, 2] and pts[0]["value"] == 87.0
    loss = [p["step"] for r in fake.calls("ingest.metrics") for p in r["body"]["points"] if p["key"] == "loss"]
    assert loss == [0, 1]  # system samples do not move cellmark.log's steps
    env = wait_until_ok(lambda: fake.calls("ingest.environment")[0]["body"]["environment"])
    assert env["gpuSampling"] == {"source": "nvidia-smi", "intervalSeconds": 0.5, "error": None}
    status = cellmark.status()["system"]
    assert status["gpuSource"] == "nvidia-smi" and status["latest"]["devices"][0]["util"] == 87.0
    cellmark.system.interval = 1
    assert cellmark.system.interval == 1.0
    with pytest.raises(ValueError, match=r"cellmark\.system\.interval must be between 0\.5 and 60 seconds"):
        cellmark.system.interval = 0.1
    ck.deactivate()
    assert SESSION.system.sampler is None


def test_no_gpu_reason_goes_to_the_environment(shell, fake, spool_root, fake_smi, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CELLMARK_SYSTEM_INTERVAL", "0.5")
    monkeypatch.setenv("FAKE_NVIDIA_SMI_FAIL", "driver-down.txt")
    monkeypatch.setattr(gpu_sources, "_import_nvml", lambda: (_ for _ in ()).throw(ImportError("no pynvml")))
    ck.activate(fake.url, TOKEN, str(uuid.uuid4()), "s.ipynb")
    env = wait_until_ok(lambda: fake.calls("ingest.environment")[0]["body"]["environment"])
    assert env["gpus"] == []
    assert env["gpuError"].startswith(
        "no NVIDIA GPU found (NVML: nvidia-ml-py is not installed; nvidia-smi failed (exit status 9)"
    )
    assert env["gpuSampling"]["source"] is None and env["gpuSampling"]["error"] == env["gpuError"]


def test_nvml_fills_the_environment_when_nvidia_smi_is_absent(
    shell, fake, spool_root, nvml, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CELLMARK_SYSTEM_INTERVAL", "0.5")
    monkeypatch.setenv("PATH", "/nonexistent")
    nvml("h100x2.json")
    monkeypatch.setattr(gpu_sources, "_import_nvml", lambda: fake_nvml)
    ck.activate(fake.url, TOKEN, str(uuid.uuid4()), "s.ipynb")
    env = wait_until_ok(lambda: fake.calls("ingest.environment")[0]["body"]["environment"])
    assert env["gpuSampling"]["source"] == "nvml" and env["gpuError"] is None
    assert [g["name"] for g in env["gpus"]] == ["NVIDIA H100 80GB HBM3"] * 2 and env["gpus"][0]["cuda"] == "12.4"


def wait_until_ok(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, IndexError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)
