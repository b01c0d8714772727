"""Load: the production server (gunicorn, as `make run` starts it) on a free
loopback port with a clearly synthetic directory, driven by a mixed resident
workload at fixed concurrency for a fixed time.

    .venv/bin/python bench/load.py                 # 10k services, 50 users, 30 s
    .venv/bin/python bench/load.py --think 0       # users who never pause: saturation
    .venv/bin/python bench/load.py --smoke         # 1k services, 5 users, 4 s (CI)
    .venv/bin/python bench/load.py --users 20 --seconds 60 --services 10000

Each user pauses between requests (exponential, 1 s on average by default:
a resident typing and reading), so 50 users offer some 50 requests a second.

Prints throughput, p50 / p95 / p99, the error count and each worker's peak
memory. Traffic goes to 127.0.0.1 only; every loop is bounded in time and in
requests. The load generator shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import logging  # noqa: E402

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.synthetic import TOWNS, build_synthetic_directory  # noqa: E402
from directory import create_app  # noqa: E402
from directory.extensions import db  # noqa: E402
from directory.models import Organization  # noqa: E402

MAX_REQUESTS = 500_000
WORDS = ["dienas", "krīz", "seniori", "higiēna", "zupa", "jaunieši", "palīdzība", "vig", "ģimenes"]
FILTERS = ["", "type=day-centre", "group=seniors", "free=1", "wheelchair=1", "open=1",
           f"place={urllib.parse.quote(TOWNS[5])}"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_database(folder: str, services: int) -> tuple[str, list[str]]:
    url = f"sqlite:///{folder}/load.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load"})
    with app.app_context():
        upgrade()
        build_synthetic_directory(db.session, services)
        slugs = list(db.session.scalars(select(Organization.slug).limit(500)))
        db.engine.dispose()
    return url, slugs


def next_request(rng: random.Random, slugs: list[str]) -> tuple[str, dict]:
    """One step of a resident: the home page, a search page, a typed search
    (htmx fragment) or a centre page."""
    roll = rng.random()
    lang = rng.choice(["lv", "lv", "lt", "ru", "en"])
    if roll < 0.15:
        return f"/{lang}/", {}
    if roll < 0.35:
        query = urllib.parse.urlencode({"q": rng.choice(WORDS)})
        extra = rng.choice(FILTERS)
        return f"/{lang}/?{query}" + (f"&{extra}" if extra else ""), {}
    if roll < 0.80:
        word = rng.choice(WORDS)
        typed = word[: rng.randint(3, len(word))]
        extra = rng.choice(FILTERS)
        path = f"/{lang}/?{urllib.parse.urlencode({'q': typed})}" + (f"&{extra}" if extra else "")
        return path, {"HX-Request": "true"}
    return f"/{lang}/centres/{rng.choice(slugs)}", {}


def user(port, slugs, deadline, seed, think, latencies, errors, counter, lock):
    """A resident: a request, then a pause to read (exponential, `think`
    seconds on average; 0 for a user who never pauses)."""
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    if think:
        time.sleep(rng.uniform(0, think))  # users arrive spread out
    while time.perf_counter() < deadline:
        with lock:
            if counter[0] >= MAX_REQUESTS:
                break
            counter[0] += 1
        path, headers = next_request(rng, slugs)
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                connection.request("GET", path, headers={"Accept-Encoding": "br, gzip", **headers})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
                break
            except (OSError, http.client.HTTPException) as error:
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                # The server closes idle keep-alive connections; like a browser,
                # send again once on a fresh connection. Anything else is an error.
                stale = isinstance(error, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if not stale:
                    break
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            if not ok:
                errors.append(path)
        if think:
            time.sleep(min(rng.expovariate(1 / think), max(0.0, deadline - time.perf_counter())))
    connection.close()


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause between a user's requests in seconds (0: no pause)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--smoke", action="store_true", help="a short run that checks the script works")
    args = parser.parse_args()
    if args.smoke:
        args.services, args.users, args.seconds = 300, 4, 2
    logging.disable(logging.INFO)

    with tempfile.TemporaryDirectory() as folder:
        print(f"building a synthetic directory of {args.services:,} services…", flush=True)
        url, slugs = build_database(folder, args.services)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "load-benchmark",
            "PORT": str(port),
            "WORKERS": str(args.workers),
            "THREADS": str(args.threads),
        }
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
             "--access-logfile", "/dev/null", "directory:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    connection.request("GET", "/healthz")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the server did not start:", server.stderr.read().decode()[-2000:])
                    return 1
                time.sleep(0.2)
            # Warm every worker (facet index, templates, catalogues) before
            # measuring: several connections at once reach every process.
            def warm(seed: int) -> None:
                rng = random.Random(1000 + seed)
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                for lang in ("lv", "lt", "en", "ru"):
                    for path in (f"/{lang}/", f"/{lang}/?q=dienas", f"/{lang}/centres/{slugs[0]}"):
                        connection.request("GET", path)
                        connection.getresponse().read()
                for _ in range(10):
                    path, headers = next_request(rng, slugs)
                    connection.request("GET", path, headers=headers)
                    connection.getresponse().read()
                connection.close()

            warmers = [threading.Thread(target=warm, args=(i,)) for i in range(args.workers * args.threads)]
            for thread in warmers:
                thread.start()
            for thread in warmers:
                thread.join(timeout=120)

            latencies: list[float] = []
            errors: list[str] = []
            counter, lock = [0], threading.Lock()
            end = time.perf_counter() + args.seconds
            threads = [
                threading.Thread(target=user, args=(port, slugs, end, seed, args.think, latencies, errors, counter, lock))
                for seed in range(args.users)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.seconds + 30)
            duration = time.perf_counter() - started
            memory = {pid: peak_memory_mb(pid) for pid in worker_pids(server.pid)}
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()

    print(
        f"{args.services:,} services, {args.users} users (mean pause {args.think:g} s), "
        f"{args.workers} workers × {args.threads} threads, "
        f"{duration:.1f} s: {len(latencies):,} requests, {len(latencies) / duration:.0f} req/s"
    )
    if latencies:
        print(
            f"latency ms: p50 {statistics.median(latencies):.1f}  p95 {percentile(latencies, .95):.1f}  "
            f"p99 {percentile(latencies, .99):.1f}  max {max(latencies):.1f}"
        )
    print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    print("peak memory per worker (VmHWM): " + ", ".join(f"{pid}: {mb:.0f} MB" for pid, mb in memory.items()))
    return 1 if errors or not latencies else 0


if __name__ == "__main__":
    sys.exit(main())
