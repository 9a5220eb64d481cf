"""Benchmark of the web server under a sign-in attack: ``/healthz`` latency and memory.

Starts ``ectocalc serve`` (a real uvicorn process, production argon2 parameters) on a loopback
port with a fresh record and one user, then sends ``--attackers`` wrong sign-ins at once, each
for a different user name (the worst case for the server: per-account throttling does not
stop them, only the per-address limit of 30 does), ``--rounds`` times, while a separate
client asks ``/healthz`` every 20 ms. Reported: the answers to the attack (401 = checked,
429 = refused before any check), the slowest and 95th-percentile ``/healthz`` answer, and the
server's resident memory (peak ``VmHWM`` and the last ``VmRSS``) against the issue-25 targets
(< 100 ms, < 300 MiB).

Not part of the test suite. Usage::

    .venv/bin/python bench/bench_signin.py                   # 40 attackers, 1 round
    .venv/bin/python bench/bench_signin.py --write-readme    # also update bench/README.md
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _readme import verdict, write_block

PASSWORD = "amber lantern over quiet water"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def _start(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    db = f"sqlite:///{folder / 'record.db'}"
    exe = [sys.executable, "-m", "ectocalc"]
    subprocess.run([*exe, "user", "add", "doc", "--role", "clinician", "--db", db],
                   input=f"{PASSWORD}\n".encode(), check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([*exe, "serve", "--db", db, "--data-dir", str(folder / "web"),
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attackers", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = _start(Path(tmp))
        try:
            idle = _memory(server.pid)["VmRSS"]
            latencies: list[float] = []
            stop = threading.Event()
            slow: list[tuple[float, float]] = []
            begun = time.perf_counter()

            def probe() -> None:
                with httpx.Client(timeout=30) as client:
                    while not stop.is_set():
                        start = time.perf_counter()
                        client.get(f"{url}/healthz").raise_for_status()
                        latencies.append(time.perf_counter() - start)
                        if latencies[-1] > 0.1:
                            slow.append((round(start - begun, 2), round(latencies[-1], 3)))
                        time.sleep(0.02)

            # one client made beforehand: making 40 (TLS contexts and all) while the attack
            # starts would stall this process's own probe thread, not the server
            attackers = httpx.Client(timeout=120, limits=httpx.Limits(
                max_connections=args.attackers, max_keepalive_connections=args.attackers))

            def attack(i: int) -> int:
                return attackers.post(f"{url}/api/login", json={
                    "username": f"user{i}", "password": "wrong password"}).status_code

            prober = threading.Thread(target=probe)
            prober.start()
            time.sleep(10)  # the machine's own noise, before the attack
            quiet = list(latencies)
            started = time.perf_counter()
            codes: Counter[int] = Counter()
            with ThreadPoolExecutor(args.attackers) as pool:
                for _ in range(args.rounds):
                    codes.update(pool.map(attack, range(args.attackers)))
            attack_s = time.perf_counter() - started
            attackers.close()
            time.sleep(0.5)
            stop.set()
            prober.join()
            memory = _memory(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies = latencies[len(quiet):]
    worst = max(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
    quiet_worst = max(quiet) * 1000
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end "
        "(a shared machine).",
        f"{args.rounds} x {args.attackers} parallel wrong sign-ins, one user name each, "
        f"from one address: answers {dict(sorted(codes.items()))} in {attack_s:.1f} s; "
        f"{len(latencies)} `/healthz` probes meanwhile.",
        "",
        "goal | measured | target | verdict",
        "---|---|---|---",
        f"`/healthz` under attack | slowest {worst:.0f} ms, p95 {p95:.0f} ms | < 100 ms | "
        f"{verdict(worst < 100)}",
        f"`/healthz` before the attack (the machine's noise) | slowest {quiet_worst:.0f} ms | "
        "| |",
        f"server memory | peak {memory['VmHWM']:.0f} MiB (idle {idle:.0f}, after "
        f"{memory['VmRSS']:.0f}) | < 300 MiB | {verdict(memory['VmHWM'] < 300)}",
    ]
    print("\n".join(lines))
    print(f"attack began at {started - begun:.1f} s; probes over 100 ms (s, s): {slow}")
    if args.write_readme:
        write_block("\n".join(lines), start="<!-- signin:start -->", end="<!-- signin:end -->")


if __name__ == "__main__":
    main()
