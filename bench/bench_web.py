"""Benchmark of the web application (``ectocalc serve``): patient pages under 50 users.

1. A record of 1,000 patients (one case file each, 5 dated visits × 5 results, CKD wording)
   is built once with ``record add`` semantics (``add_files``) and cached in
   ``bench/results/`` (git-ignored).
2. ``ectocalc serve`` runs in its own process on 127.0.0.1 (as in production: one uvicorn
   worker). The bench waits until the server has computed every patient's summary (the
   patient list's background warm-up) and reports how long that took.
3. 50 simulated users (httpx, each with its own session) browse for 30 s: each opens a random
   patient's page, then thinks for 0.5-1.5 s; one request in ten is the patient list or the
   API's ``record show`` JSON instead. Reported: requests, p50/p95/max latency, errors
   (any status other than 200, or a failed request). Goal: p95 < 300 ms, 0 errors.
4. CT slices: ``render_slice`` on a 512 × 512 phantom slice with the overlay (median, p95),
   goal < 150 ms per slice.

Not part of the test suite. Usage::

    .venv/bin/python bench/bench_web.py                  # 1,000 patients, 50 users, 30 s
    .venv/bin/python bench/bench_web.py --quick          # 200 patients, 20 users, 10 s
    .venv/bin/python bench/bench_web.py --write-readme   # also update bench/README.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

RESULTS = Path(__file__).with_name("results")
README = Path(__file__).with_name("README.md")
USER, PASSWORD = "bench", "bench-password-1"
LABS = (("creatinine", 1.6, "mg/dL", 0.25), ("phosphate", 4.2, "mg/dL", 0.35),
        ("calcium", 9.4, "mg/dL", -0.05), ("albumin", 3.9, "g/dL", -0.02),
        ("pth", 90.0, "pg/mL", 35.0))
VISITS = 5


def _case(index: int) -> str:
    """One patient: 5 visits, 60 days apart, drifting results; some on dialysis."""
    rng = random.Random(index)
    start = date(2025, 1, 1) + timedelta(days=rng.randrange(200))
    labs = []
    for visit in range(VISITS):
        day = start + timedelta(days=60 * visit)
        for name, base, unit, step in LABS:
            value = round(base * rng.uniform(0.8, 1.2) + step * visit, 2)
            labs.append(f"  - {{analyte: {name}, value: {value}, unit: {unit}, date: {day}}}")
    condition = rng.choice(["CKD stage 3b", "CKD stage 4", "end-stage renal disease on "
                            "hemodialysis", "hypertension", "type 2 diabetes mellitus"])
    return (f"date: {start + timedelta(days=60 * (VISITS - 1))}\n"
            f"patient: {{id: BENCH-{index:04d}, age_years: {rng.randrange(40, 85)}, "
            f"sex: {rng.choice(['female', 'male'])}}}\n"
            "labs:\n" + "\n".join(labs) + f"\nconditions: [{{text: \"{condition}\"}}]\n")


def build_record(patients: int) -> str:
    """The cached SQLite record of ``patients`` patients (built on first use)."""
    from ectocalc.record import add_files, create_user, get_user, open_store
    from ectocalc.web import hash_password

    RESULTS.mkdir(exist_ok=True)
    db = RESULTS / f"web-{patients}.db"
    url = f"sqlite:///{db}"
    if not db.exists():
        cases = RESULTS / f"web-cases-{patients}"
        cases.mkdir(exist_ok=True)
        files = []
        for index in range(patients):
            path = cases / f"p{index:04d}.yaml"
            path.write_text(_case(index))
            files.append(path)
        start = time.perf_counter()
        store = open_store(url)
        failed = [r for r in add_files(store, files) if r.status == "failed"]
        if failed:
            raise SystemExit(f"could not build the record: {failed[0].error}")
        store.dispose()
        print(f"built {patients} patients in {time.perf_counter() - start:.0f} s", flush=True)
    store = open_store(url)
    if get_user(store, USER) is None:
        create_user(store, USER, "clinician", hash_password(PASSWORD))
    store.dispose()
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ectocalc", "serve", "--db", url, "--port", str(port),
         "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def wait_warm(base: str, limit_s: float) -> float:
    """Seconds until the patient list has every patient's alerts computed."""
    start = time.perf_counter()
    with httpx.Client(base_url=base) as client:
        client.post("/api/login", json={"username": USER, "password": PASSWORD})
        while time.perf_counter() - start < limit_s:
            if "Computing alerts" not in client.get("/patients").text:
                return time.perf_counter() - start
            time.sleep(1.0)
    return float("nan")


async def _signed_in(base: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    answer = await client.post("/api/login", json={"username": USER, "password": PASSWORD})
    if answer.status_code != 200:
        raise SystemExit(f"sign-in failed: {answer.status_code}")
    return client


async def _user(client: httpx.AsyncClient, ids: list[str], stop_at: float, seed: int,
                latencies: list[float], errors: list[str]) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, 1.0))  # users do not all start on the same tick
    while time.perf_counter() < stop_at:
        pick = rng.random()
        patient = rng.choice(ids)
        path = (f"/patients?page={rng.randrange(1, 5)}" if pick < 0.05 else
                f"/api/patients/{patient}" if pick < 0.1 else f"/patients/{patient}")
        start = time.perf_counter()
        try:
            answer = await client.get(path)
            if answer.status_code != 200:
                errors.append(f"{answer.status_code}")
        except httpx.HTTPError as error:
            errors.append(type(error).__name__)
        latencies.append(time.perf_counter() - start)
        await asyncio.sleep(rng.uniform(0.5, 1.5))


@dataclass
class Browsing:
    """Latencies (s), errors, and the CPU seconds the server and this load generator used."""

    latencies: list[float]
    errors: list[str]
    server_cpu: float
    client_cpu: float


async def browse(base: str, ids: list[str], users: int, seconds: float, *, server_pid: int
                 ) -> Browsing:
    """Sign ``users`` in (not timed), then let them browse for ``seconds``."""
    clients = [await _signed_in(base) for _ in range(users)]
    latencies: list[float] = []
    errors: list[str] = []
    cpu_before = _cpu_seconds(server_pid)
    client_before = time.process_time()
    stop_at = time.perf_counter() + seconds
    try:
        await asyncio.gather(*(_user(client, ids, stop_at, seed, latencies, errors)
                               for seed, client in enumerate(clients)))
    finally:
        for client in clients:
            await client.aclose()
    return Browsing(latencies, errors, _cpu_seconds(server_pid) - cpu_before,
                    time.process_time() - client_before)


def slice_timing(repeats: int = 60) -> tuple[float, float]:
    """Median and p95 ms of ``render_slice`` on 512 × 512 phantom slices with the overlay."""
    import numpy as np

    from ectocalc.datasets import make_phantom
    from ectocalc.web._viewer import SliceStack, render_slice

    hu = np.clip(np.rint(make_phantom(rows=512, columns=512, slices=20,
                                      pixel_spacing_mm=0.35).hu), -32768, 32767)
    hu = hu.astype(np.int16)
    types = ((hu >= 130) & (hu < 1000)).astype(np.uint8)
    stack = SliceStack(hu=hu, types=types, type_names=("vascular",),
                       z_mm=np.arange(hu.shape[0], dtype=float))
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        render_slice(stack, i % stack.count, window="soft_tissue", overlay=True)
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    patients, users, seconds = (200, 20, 10.0) if args.quick else (1000, 50, 30.0)

    url = build_record(patients)
    ids = [f"BENCH-{i:04d}" for i in range(patients)]
    process, base = start_server(url, RESULTS / "web-data")
    try:
        warm = wait_warm(base, limit_s=600)
        run = asyncio.run(browse(base, ids, users, seconds, server_pid=process.pid))
    finally:
        process.terminate()
        process.wait(timeout=30)
    slice_p50, slice_p95 = slice_timing()

    ms = [1000 * x for x in run.latencies]
    errors, server_cpu = run.errors, run.server_cpu
    p50, p95 = statistics.median(ms), _percentile(ms, 0.95)
    load = os.getloadavg()[0]
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average "
        f"{load:.1f} at the end (other work on the machine counts).",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| record | {patients} patients × {VISITS} visits × {len(LABS)} results (SQLite) | |",
        f"| server warm-up (every patient's alerts and overdue tests computed) | {warm:.0f} s | |",
        f"| users × duration | {users} × {seconds:.0f} s, think time 0.5-1.5 s | |",
        f"| requests (90 % patient pages, 5 % list, 5 % API record show) | {len(ms)} "
        f"({len(ms) / seconds:.0f}/s) | |",
        f"| latency p50 / p95 / max | {p50:.0f} / {p95:.0f} / {max(ms):.0f} ms | p95 < 300 ms |",
        f"| errors | {len(errors)} | 0 |",
        f"| server CPU while browsing (one process; the rest is waiting for a core) | "
        f"{server_cpu:.1f} s in {seconds:.0f} s = {100 * server_cpu / seconds:.0f} % of one "
        f"core, {1000 * server_cpu / max(1, len(ms)):.1f} ms per request | |",
        f"| load generator CPU (same machine, one process) | {run.client_cpu:.1f} s in "
        f"{seconds:.0f} s = {100 * run.client_cpu / seconds:.0f} % of one core | |",
        f"| CT slice PNG 512 × 512 with overlay (render_slice), median / p95 | "
        f"{slice_p50:.1f} / {slice_p95:.1f} ms | < 150 ms |",
    ]
    print("\n".join(lines))
    if errors:
        print("errors:", sorted(set(errors)))
    if args.write_readme:
        text = README.read_text()
        start, end = "<!-- web:start -->", "<!-- web:end -->"
        table = "\n".join(lines)
        if start in text:
            head, rest = text.split(start, 1)
            text = f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}"
        else:
            text += "\n" + WEB_SECTION.format(table=table)
        README.write_text(text)


WEB_SECTION = """
## Web application (`bench_web.py`)

`bench_web.py` serves a record of 1,000 patients with `ectocalc serve` (own process, one
uvicorn worker, SQLite) and lets 50 simulated users (httpx, loopback, one session each) browse
patient pages for 30 s with 0.5-1.5 s think time. Pages come from the server's per-patient
cache, recomputed whenever the patient's record revision changes; the table says how long the
initial background computation of every patient took. The CT slice line times the viewer's
PNG rendering of a 512 × 512 slice with the type overlay.

```
.venv/bin/python bench/bench_web.py                 # 1,000 patients, 50 users, 30 s
.venv/bin/python bench/bench_web.py --quick         # 200 patients, 20 users, 10 s
.venv/bin/python bench/bench_web.py --write-readme  # also replace the table below
```

<!-- web:start -->
{table}
<!-- web:end -->
"""


if __name__ == "__main__":
    main()
