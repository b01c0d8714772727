"""Load: the production server (gunicorn, as `make run` starts it) on a free
loopback port with a clearly synthetic directory (bench/synthetic.py, up to
1,000,000 services, SQLite or PostgreSQL), driven by a mixed resident
workload at fixed concurrency for a fixed time, optionally with writes.

    .venv/bin/python bench/load.py                 # 10k services, 50 users, 30 s, SQLite
    .venv/bin/python bench/load.py --think 0       # users who never pause: saturation
    .venv/bin/python bench/load.py --smoke         # 300 services, 4 users, 2 s (CI)
    .venv/bin/python bench/load.py --users 20 --seconds 60 --services 10000

    # the runs of issue 17 (national scale): 60 s each, with and without writes
    .venv/bin/python bench/load.py --services 100000 --seconds 60
    .venv/bin/python bench/load.py --services 100000 --seconds 60 --writes-per-second 1
    .venv/bin/python bench/load.py --services 1000000 --seconds 60 --database postgresql

Each user pauses between requests (exponential, 1 s on average by default:
a resident typing and reading), so 50 users offer some 50 requests a second.

--database postgresql: with neither TEST_DATABASE_URL nor DATABASE_URL set
the script runs itself again under scripts/with-postgres.sh (a throw-away
cluster on loopback, installed through apt when missing); with one set it
creates a new database on that server (never the one the URL names; the role
needs CREATEDB), hands its URL to the gunicorn workers as DATABASE_URL and
drops it afterwards.

--writes-per-second W (default 0): during the measured period a writer
thread updates a random synthetic service's name W times a second with a
plain SQL UPDATE, committed through a SQLAlchemy connection of its own (as
an editor elsewhere would), so that what each write costs the workers shows
in the latencies; a further line gives the latencies of the requests that
started within 2 s after a write.

Prints throughput, p50 / p95 / p99, the error count (a request that fails or
takes longer than --timeout, 10 s, is one), the writes made, and each
worker's peak (VmHWM) and current (VmRSS) memory at the end. Traffic goes to
127.0.0.1 only; every loop is bounded in time and in requests. The load
generator shares the machine's cores with the server (and with PostgreSQL).
"""

from __future__ import annotations

import argparse
import contextlib
import bisect
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import logging  # noqa: E402

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from bench.databases import fresh_database, rerun_under_postgres, server_url  # noqa: E402
from bench.synthetic import TOWNS, build_synthetic_directory  # noqa: E402
from directory import create_app  # noqa: E402
from directory.extensions import db  # noqa: E402
from directory.models import Organization  # noqa: E402

MAX_REQUESTS = 500_000
WORDS = ["dienas", "krīz", "seniori", "higiēna", "zupa", "jaunieši", "palīdzība", "vig", "ģimenes"]
FILTERS = ["", "type=day-centre", "group=seniors", "free=1", "wheelchair=1", "open=1",
           f"place={urllib.parse.quote(TOWNS[5])}"]
AFTER_WRITE_SECONDS = 2.0  # requests started this soon after a write are counted apart
WRITABLE_SERVICES = 2000  # the writer picks among this many services


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerDidNotStart(RuntimeError):
    """gunicorn exited, or did not answer /healthz in time; the message is
    the end of what it wrote to stderr."""


def _healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        finally:
            connection.close()
    except OSError:
        return False


@contextlib.contextmanager
def production_server(env: dict[str, str], port: int, start_seconds: float):
    """gunicorn serving the app as `make run` does (gunicorn.conf.py, `env`
    holding DATABASE_URL, PORT, WORKERS…), from when /healthz answers on
    `port` until the block ends. Each worker builds its search index before
    it serves, so a large directory needs a long `start_seconds`."""
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
         "--access-logfile", "/dev/null", app_factory()],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + start_seconds
        while not _healthy(port):
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()  # its stderr ends only when it does
                raise ServerDidNotStart(server.stderr.read().decode()[-2000:])
            time.sleep(0.2)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


# ------------------------------------------------------------------ databases


def app_factory() -> str:
    """What `make run` serves: create_app(serving=True) where the code has it."""
    import inspect

    serving = "serving" in inspect.signature(create_app).parameters
    return "directory:create_app(serving=True)" if serving else "directory:create_app()"


@contextlib.contextmanager
def reused_database(url: str):
    yield url


def count_services(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM service")).scalar()
    finally:
        engine.dispose()


def some_slugs(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT slug FROM organization ORDER BY slug LIMIT 500")).scalars())
    finally:
        engine.dispose()


def build_database(url: str, services: int) -> list[str]:
    """Migrate, fill through the synthetic bulk path; some centres' slugs."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load"})
    with app.app_context():
        upgrade()
        build_synthetic_directory(db.session, services)
        slugs = list(db.session.scalars(select(Organization.slug).order_by(Organization.slug).limit(500)))
        db.session.remove()
        db.engine.dispose()
    return slugs


# ------------------------------------------------------------------ traffic


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


def user(port, slugs, deadline, seed, think, timeout, latencies, starts, errors, counter, lock):
    """A resident: a request, then a pause to read (exponential, `think`
    seconds on average; 0 for a user who never pauses)."""
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
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
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                # The server closes idle keep-alive connections; like a browser,
                # send again once on a fresh connection. Anything else is an error.
                stale = isinstance(error, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if not stale:
                    break
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            starts.append(started)
            if not ok:
                errors.append(path)
        if think:
            time.sleep(min(rng.expovariate(1 / think), max(0.0, deadline - time.perf_counter())))
    connection.close()


def writer(url, per_second, deadline, written, write_ms, write_errors):
    """Every 1/per_second s until the deadline: a random synthetic service
    gets a new name, committed at once, through a connection of its own."""
    rng = random.Random(7)
    connect_args = {"timeout": 15} if url.startswith("sqlite") else {}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            services = connection.execute(
                text("SELECT id, name FROM service ORDER BY id LIMIT :n"), {"n": WRITABLE_SERVICES}).all()
        start = time.perf_counter()
        number = 0
        while True:
            due = start + number / per_second
            if due >= deadline:
                break
            time.sleep(max(0.0, due - time.perf_counter()))
            service_id, name = rng.choice(services)
            began = time.perf_counter()
            try:
                with engine.begin() as connection:
                    connection.execute(
                        text("UPDATE service SET name = :name, version = version + 1 WHERE id = :id"),
                        {"name": f"{name} zzload{number:05d}", "id": service_id},
                    )
                written.append(time.perf_counter())
                write_ms.append((written[-1] - began) * 1000)
            except Exception as error:  # noqa: BLE001 - counted and shown, the run goes on
                write_errors.append(repr(error))
            number += 1
    finally:
        engine.dispose()


# ------------------------------------------------------------------ workers


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


def memory_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak) and VmRSS (now) of a process, in MB."""
    found = {"VmHWM": 0.0, "VmRSS": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in found:
                found[name] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=lambda s: int(s.replace("_", "")), default=10_000,
                        help="synthetic services (up to 1000000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30,
                        help="length of the measured period (the runs of issue 17: 60)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause between a user's requests in seconds (0: no pause)")
    parser.add_argument("--writes-per-second", type=float, default=0.0,
                        help="service names updated a second during the measured period (0: none)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds a request may take before it counts as an error")
    parser.add_argument("--data-url", help="an existing database of synthetic services to use as it is "
                        "(built by an earlier run; nothing is built or dropped)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--smoke", action="store_true", help="a short run that checks the script works")
    args = parser.parse_args()
    if args.smoke:
        args.services, args.users, args.seconds = 300, 4, 2
    if args.database == "postgresql" and not server_url():
        return rerun_under_postgres(__file__)
    logging.disable(logging.INFO)

    import directory

    print(f"code: {Path(directory.__file__).parent}", flush=True)
    with (reused_database(args.data_url) if args.data_url else fresh_database(args.database, "bench_load")) as url:
        if args.data_url:
            args.database = "postgresql" if url.startswith("postgres") else "sqlite"
            args.services = count_services(url)
            slugs = some_slugs(url)
            print(f"reusing a synthetic directory of {args.services:,} services", flush=True)
        else:
            print(f"building a synthetic directory of {args.services:,} services ({args.database})…", flush=True)
            built = time.perf_counter()
            slugs = build_database(url, args.services)
            print(f"built in {time.perf_counter() - built:.1f} s", flush=True)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "load-benchmark",
            "PORT": str(port),
            "WORKERS": str(args.workers),
            "THREADS": str(args.threads),
        }
        # Large directories: the first requests of each worker build its indexes.
        warm_seconds = max(120.0, args.services / 1000)
        try:
            # Each worker builds its search index before it serves (minutes at 1M).
            with production_server(env, port, start_seconds=max(60.0, args.services / 2500)) as server:
                # Warm every worker (facet index, templates, catalogues) before
                # measuring: several connections at once reach every process.
                def warm(seed: int) -> None:
                    rng = random.Random(1000 + seed)
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=warm_seconds)
                    for lang in ("lv", "lt", "en", "ru"):
                        for path in (f"/{lang}/", f"/{lang}/?q=dienas", f"/{lang}/centres/{slugs[0]}"):
                            connection.request("GET", path)
                            connection.getresponse().read()
                    for _ in range(10):
                        path, headers = next_request(rng, slugs)
                        connection.request("GET", path, headers=headers)
                        connection.getresponse().read()
                    connection.close()

                warmed = time.perf_counter()
                warmers = [threading.Thread(target=warm, args=(i,)) for i in range(args.workers * args.threads)]
                for thread in warmers:
                    thread.start()
                for thread in warmers:
                    thread.join(timeout=warm_seconds * 2)
                print(f"warmed up in {time.perf_counter() - warmed:.1f} s", flush=True)

                latencies: list[float] = []
                starts: list[float] = []
                errors: list[str] = []
                written: list[float] = []
                write_ms: list[float] = []
                write_errors: list[str] = []
                counter, lock = [0], threading.Lock()
                end = time.perf_counter() + args.seconds
                threads = [
                    threading.Thread(target=user, args=(port, slugs, end, seed, args.think, args.timeout,
                                                        latencies, starts, errors, counter, lock))
                    for seed in range(args.users)
                ]
                if args.writes_per_second > 0:
                    threads.append(threading.Thread(
                        target=writer, args=(url, args.writes_per_second, end, written, write_ms, write_errors)))
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=args.seconds + args.timeout + 30)
                duration = time.perf_counter() - started
                memory = {pid: memory_mb(pid) for pid in worker_pids(server.pid)}
        except ServerDidNotStart as error:
            print("the server did not start:", error)
            return 1

    print(
        f"{args.services:,} services ({args.database}), {args.users} users (mean pause {args.think:g} s), "
        f"{args.workers} workers × {args.threads} threads, "
        f"{duration:.1f} s: {len(latencies):,} requests, {len(latencies) / duration:.0f} req/s"
    )
    if latencies:
        print(
            f"latency ms: p50 {statistics.median(latencies):.1f}  p95 {percentile(latencies, .95):.1f}  "
            f"p99 {percentile(latencies, .99):.1f}  max {max(latencies):.1f}"
        )
    print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    if args.writes_per_second > 0:
        print(
            f"writes: {len(written)} made ({args.writes_per_second:g}/s asked)"
            + (f", commit p50 {statistics.median(write_ms):.1f} ms max {max(write_ms):.1f} ms" if write_ms else "")
            + (f", {len(write_errors)} failed (first: {write_errors[0]})" if write_errors else "")
        )
        def soon_after_a_write(at: float) -> bool:
            last = bisect.bisect_right(written, at)  # writes are in time order
            return last > 0 and at - written[last - 1] < AFTER_WRITE_SECONDS

        after = [ms for at, ms in zip(starts, latencies) if soon_after_a_write(at)]
        if after:
            print(
                f"requests started within {AFTER_WRITE_SECONDS:g} s after a write: {len(after):,}, "
                f"latency ms p50 {statistics.median(after):.1f}  p95 {percentile(after, .95):.1f}  "
                f"p99 {percentile(after, .99):.1f}  max {max(after):.1f}"
            )
    else:
        print("writes: 0")
    print("peak memory per worker (VmHWM): "
          + ", ".join(f"{pid}: {mb['VmHWM']:.0f} MB" for pid, mb in memory.items()))
    print("memory per worker at the end (VmRSS): "
          + ", ".join(f"{pid}: {mb['VmRSS']:.0f} MB" for pid, mb in memory.items()))
    return 1 if errors or not latencies else 0


if __name__ == "__main__":
    sys.exit(main())
