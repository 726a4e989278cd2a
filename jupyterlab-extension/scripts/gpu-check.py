#!/usr/bin/env python3
"""GPU check for Cellmark's system sampler, for a machine with an NVIDIA GPU (a few minutes).

Samples through both sources of cellmark/kernel/gpu_sources/ — NVML (nvidia-ml-py) and the
streaming `nvidia-smi -lms` — while a small GPU load runs (a torch matmul loop in a child
process when torch is importable, else idle), and prints Cellmark's samples beside
nvidia-smi's own reading of the same moment. Also records the raw outputs of nvidia-smi
(for tests/fixtures/nvidia-smi) and the sampler's CPU time per sample.

Usage, from the repository root:

    python3 jupyterlab-extension/scripts/gpu-check.py --seconds 60 --out "$OUT"

It installs psutil and nvidia-ml-py when they are missing: from PyPI, or with no network
from a wheelhouse made beforehand on a machine that has one and carried along
(`pip download psutil nvidia-ml-py -d jupyterlab-extension/scripts/wheelhouse`; the folder
is found there or through $CELLMARK_WHEELHOUSE). Without psutil it still samples the GPUs.

Exit status 0 when both sources sampled every GPU and agree with nvidia-smi (memory within
2 %, utilisation within 25 points under a changing load, the kernel's process tree memory
seen when torch ran), 1 otherwise; each failed check is printed as `FAIL: …`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the working tree's cellmark


def ensure(module: str, dist: str) -> None:
    try:
        __import__(module)
        return
    except ImportError:
        pass
    wheels = os.environ.get("CELLMARK_WHEELHOUSE") or str(Path(__file__).resolve().parent / "wheelhouse")
    where = ["--no-index", "--find-links", wheels] if Path(wheels).is_dir() else []
    print(f"installing {dist} {'from ' + wheels if where else 'from PyPI'}", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *where, dist], check=False)


ensure("psutil", "psutil")
ensure("pynvml", "nvidia-ml-py")

from cellmark.kernel import gpu_sources, gpus, system_metrics  # noqa: E402
from cellmark.kernel.gpu_sources import smi  # noqa: E402

LOAD = """
import sys, time, torch
x = torch.randn(8192, 8192, device="cuda")
end = time.time() + float(sys.argv[1])
while time.time() < end:
    y = x @ x
    torch.cuda.synchronize()
    time.sleep(0.02)  # about 90 % busy: utilisation changes between samples
"""
REFERENCE_QUERY = ["--query-gpu=" + ",".join(smi.SMI_FIELDS), "--format=csv"]
failures: list[str] = []


def fail(message: str) -> None:
    failures.append(message)
    print(f"FAIL: {message}", flush=True)


def run(args: list, timeout: float = 30) -> str:
    try:
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        return proc.stdout.decode("utf-8", "replace")
    except Exception as e:
        return f"<{type(e).__name__}: {e}>"


def record(out: Path, smi: str) -> None:
    """Raw nvidia-smi outputs, in the shapes the fixtures keep."""
    out.mkdir(parents=True, exist_ok=True)
    for name, args in {
        "header.txt": [],
        "list-gpus.txt": ["-L"],
        "inventory.csv": gpus.QUERY,
        "sample.csv": smi.SMI_QUERY,
        "sample-with-header-and-units.csv": REFERENCE_QUERY,
        "compute-apps.csv": smi.SMI_APPS_QUERY,
        "compute-apps-with-names.csv": [
            "--query-compute-apps=gpu_uuid,pid,process_name,used_gpu_memory",
            "--format=csv",
        ],
    }.items():
        (out / name).write_text(run([smi, *args]))
    print(f"recorded nvidia-smi outputs in {out}", flush=True)


def nvml_fixture(nvml) -> dict:
    """What NVML answers now, in tests/fixtures/nvml's format (errors as {"error": "<Name>"})."""

    def ask(fn):
        try:
            value = fn()
            return value.decode() if isinstance(value, bytes) else value
        except Exception as e:
            return {"error": type(e).__name__.removeprefix("NVMLError_")}

    def device(h) -> dict:
        v1 = ask(lambda: nvml.nvmlDeviceGetMemoryInfo(h))
        v2 = ask(lambda: nvml.nvmlDeviceGetMemoryInfo(h, version=nvml.nvmlMemory_v2))
        util = ask(lambda: nvml.nvmlDeviceGetUtilizationRates(h))
        procs = ask(lambda: nvml.nvmlDeviceGetComputeRunningProcesses(h))
        d = {
            "name": ask(lambda: nvml.nvmlDeviceGetName(h)),
            "uuid": ask(lambda: nvml.nvmlDeviceGetUUID(h)),
            "utilization": util if isinstance(util, dict) else {"gpu": util.gpu, "memory": util.memory},
            "memory": v1
            if isinstance(v1, dict)
            else (
                {"total": v2.total, "used": v2.used, "reserved": v2.reserved}
                if not isinstance(v2, dict)
                else {"total": v1.total, "used": v1.used}
            ),
            "memory_v1_as_read": v1 if isinstance(v1, dict) else {"total": v1.total, "used": v1.used, "free": v1.free},
            "power_mw": ask(lambda: nvml.nvmlDeviceGetPowerUsage(h)),
            "power_limit_mw": ask(lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(h)),
            "temperature": ask(lambda: nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU)),
            "sm_clock": ask(lambda: nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_SM)),
            "pcie_rx_kbps": ask(lambda: nvml.nvmlDeviceGetPcieThroughput(h, nvml.NVML_PCIE_UTIL_RX_BYTES)),
            "pcie_tx_kbps": ask(lambda: nvml.nvmlDeviceGetPcieThroughput(h, nvml.NVML_PCIE_UTIL_TX_BYTES)),
            "processes": procs
            if isinstance(procs, dict)
            else [{"pid": p.pid, "usedGpuMemory": p.usedGpuMemory} for p in procs],
            "mig_mode": ask(lambda: list(nvml.nvmlDeviceGetMigMode(h))),
        }
        if isinstance(v2, dict):
            d["memory_v2"] = v2
        return d

    nvml.nvmlInit()
    try:
        return {
            "driver": ask(nvml.nvmlSystemGetDriverVersion),
            "cuda": ask(nvml.nvmlSystemGetCudaDriverVersion),
            "devices": [
                {"handle": h} if isinstance(h, dict) else device(h)
                for h in (ask(lambda: nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(nvml.nvmlDeviceGetCount()))
            ],
        }
    finally:
        nvml.nvmlShutdown()


def src_problems(src) -> str:
    return "; ".join(f"{k}: {v}" for k, v in list(src.problems.items())[:4]) or "no errors"


def reference(smi: str) -> dict:
    rows, _ = smi.parse_smi_rows(run([smi, *smi.SMI_QUERY]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu-check-out")
    parser.add_argument("--nvml-fixture", help="also write what NVML answers under the load to this JSON file")
    args = parser.parse_args()
    out = Path(args.out)
    smi = shutil.which("nvidia-smi")
    print(f"python {sys.version.split()[0]}; nvidia-smi: {smi}", flush=True)
    print(run([smi]) if smi else "no nvidia-smi on PATH", flush=True)
    if smi:
        record(out, smi)
    print("environment GPUs (gpus.collect):", json.dumps(gpus.collect(), indent=1), flush=True)

    sources = {}
    try:
        import pynvml

        sources["nvml"] = gpu_sources.NvmlSource(pynvml)
        print("NVML inventory:", json.dumps(gpu_sources.nvml_inventory(pynvml)[0], indent=1), flush=True)
        print("NVML devices:", [d for d, _ in sources["nvml"].devices], flush=True)
    except Exception as e:
        fail(f"NVML source: {type(e).__name__}: {e}")
    if smi:
        try:
            sources["nvidia-smi"] = gpu_sources.SmiSource(smi, args.interval)
        except Exception as e:
            fail(f"nvidia-smi source: {e}")
    source, why = gpu_sources.open_source(args.interval)
    print(f"the sampler would use: {getattr(source, 'name', None)} {why or ''}", flush=True)
    if source is not None:
        source.close()

    load = None
    try:
        import torch  # noqa: F401

        load = subprocess.Popen([sys.executable, "-c", LOAD, str(args.seconds + 5)])
        print(f"GPU load: torch matmul loop in pid {load.pid}", flush=True)
        time.sleep(5)  # CUDA context and the first kernels
    except ImportError:
        print("GPU load: none (torch is not importable): sampling an idle GPU", flush=True)

    try:
        host = system_metrics.HostStats()
    except Exception as e:
        print(f"host stats unavailable ({type(e).__name__}: {e}): GPUs only", flush=True)
        host = None
    # The kernel's own sampler thread, as a run starts it, beside the two sources.
    sampled: list[dict] = []
    sampler = system_metrics.SystemSampler(lambda values, view: sampled.append(values), args.interval)
    sampler.start()
    cpu = {name: 0.0 for name in sources}
    counts = {name: 0 for name in sources}
    seen_proc = {name: False for name in sources}
    end = time.monotonic() + args.seconds
    try:
        while time.monotonic() < end:
            if host is not None:
                host.read()
            pids = (host.tree_pids if host is not None else [os.getpid()]) + ([load.pid] if load else [])
            ref = reference(smi) if smi else {}
            got = {}
            for name, src in sources.items():
                started = time.thread_time()
                got[name] = src.read(pids)
                cpu[name] += time.thread_time() - started
                counts[name] += 1
            print(
                f"\n{time.strftime('%H:%M:%S')}  {'field':<14}" + "".join(f"{n:>14}" for n in [*sources, "nvidia-smi"])
            )
            for dev in sorted(set(ref) | {d for g in got.values() for d in g}):
                for field in [*smi.SMI_COLUMNS, "mem_util", "pcie_rx_mbps", "pcie_tx_mbps", "proc_mem_mib"]:
                    cells = [got[n].get(dev, {}).get(field) for n in sources] + [ref.get(dev, {}).get(field)]
                    if all(c is None for c in cells):
                        continue
                    print(
                        f"  gpu.{dev:<5} {field:<14}"
                        + "".join(f"{'-' if c is None else round(c, 1):>14}" for c in cells)
                    )
                r = ref.get(dev, {})
                for name in sources:
                    mine = got[name].get(dev)
                    if "mig" in dev:
                        continue
                    if mine is None and r:
                        fail(f"{name}: no sample for GPU {dev}")
                        continue
                    if r and not mine:
                        fail(f"{name}: GPU {dev} sampled with no fields ({src_problems(sources[name])})")
                    if mine and mine.get("proc_mem_mib"):
                        seen_proc[name] = True
                    for field, tolerance in (("mem_total_mib", 0.02), ("mem_used_mib", 0.05)):
                        a, b = (mine or {}).get(field), r.get(field)
                        if a is not None and b is not None and abs(a - b) > tolerance * max(b, 1024):
                            fail(f"{name}: gpu.{dev}.{field} {a:.0f} vs nvidia-smi {b:.0f}")
                    a, b = (mine or {}).get("util"), r.get("util")
                    if a is not None and b is not None and abs(a - b) > 25:
                        fail(f"{name}: gpu.{dev}.util {a:.0f} vs nvidia-smi {b:.0f}")
            if args.nvml_fixture and "nvml" in sources and time.monotonic() > end - args.seconds / 2:
                import pynvml

                Path(args.nvml_fixture).write_text(json.dumps(nvml_fixture(pynvml), indent=1) + "\n")
                print(f"recorded NVML's answers in {args.nvml_fixture}", flush=True)
                args.nvml_fixture = None
            time.sleep(args.interval)
    finally:
        sampler.stop()
        if load is not None:
            load.terminate()
        for src in sources.values():
            src.close()
    print(flush=True)
    for name in sources:
        per = 1000 * cpu[name] / max(1, counts[name])
        print(
            f"{name}: {counts[name]} samples, {per:.2f} ms CPU per sample in the sampler thread "
            f"({per / (10 * args.interval):.3f}% of one core at {args.interval:g} s); problems: {sources[name].problems}"
        )
        if load is not None and not seen_proc[name]:
            fail(f"{name}: the torch child's GPU memory was never attributed to the process tree (proc_mem_mib)")
    state = sampler.state()
    print(f"SystemSampler: {json.dumps(state)}", flush=True)
    if sampled:
        print("SystemSampler last sample:", json.dumps(sampled[-1], indent=1, sort_keys=True), flush=True)
    gpu_keys = {k for values in sampled for k in values if k.startswith("system/gpu.")}
    for dev in reference(smi) if smi else {}:
        for field in ("util", "mem_used_mib", "mem_total_mib"):
            if "mig" not in dev and f"system/gpu.{dev}.{field}" not in gpu_keys:
                fail(f"SystemSampler: no system/gpu.{dev}.{field} in {len(sampled)} samples ({state})")
    if smi and not state["gpuSource"]:
        fail(f"SystemSampler: no GPU source ({state['gpuError']})")
    if load is not None and not any(k.endswith(".proc_mem_mib") and v for values in sampled for k, v in values.items()):
        fail("SystemSampler: the torch child's GPU memory never reached system/gpu.*.proc_mem_mib")
    print("CHECK OK" if not failures else f"CHECK FAILED ({len(failures)})", flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
