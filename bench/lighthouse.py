"""Lighthouse in a real browser: the production server (gunicorn, as `make
run` starts it, with the fingerprinted, pre-compressed static files) on a
free loopback port with the starter data in a temporary SQLite database,
audited by Lighthouse (npm) in Debian's Chromium, in mobile mode (its
default form factor, simulated throttling), on the home page, a search and
a centre page.

    .venv/bin/python bench/lighthouse.py                      # /lv/: home, search, centre
    .venv/bin/python bench/lighthouse.py --languages lv lt en ru
    .venv/bin/python bench/lighthouse.py --runs 3             # median performance of 3 runs
    .venv/bin/python bench/lighthouse.py --more               # and /lv/centres/, /lv/map?q=centrs
    .venv/bin/python bench/lighthouse.py --target 90 --centre vigante

Prints, per page, the four category scores (performance, accessibility,
best practices, SEO) and the key metrics (FCP, LCP, TBT, CLS), then the
audits that cost each category under 100 its points (id, score and title;
"UNDER TARGET" marks a category under --target, default 95). Exits 1 when
a score is under the target, 2 when a page or a Lighthouse run failed.

Lighthouse is a tool of this benchmark only, not of the tests: it lives in
bench/lighthouse/ (package.json and package-lock.json pin 12.2.3, which
runs on Node 20; Lighthouse 13 needs Node 22; node_modules is git-ignored)
and is installed there with `npm ci` when missing. Chromium is CHROME_PATH or
/usr/bin/chromium. The JSON reports go to .tmp/lighthouse/<time>/
(git-ignored). Nothing here touches instance/; `flask digest compile` (what
`make run` does) refreshes the fingerprinted copies in static/ first
(--no-compile skips it).

Simulated throttling scales the CPU work the browser measured here, so a
machine busy with other work gives lower performance scores: compare runs
made on a quiet machine, and use --runs 3 or 5 (Lighthouse's own advice
is the median of 5).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import urllib.parse
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.databases import fresh_database  # noqa: E402
from bench.load import ServerDidNotStart, free_port, production_server  # noqa: E402
from directory import create_app  # noqa: E402
from directory.extensions import db  # noqa: E402
from directory.models import Organization  # noqa: E402
from directory.seeding import seed_starter_data  # noqa: E402

TOOL_DIR = ROOT / "bench" / "lighthouse"
LIGHTHOUSE = TOOL_DIR / "node_modules" / ".bin" / "lighthouse"
REPORTS = ROOT / ".tmp" / "lighthouse"
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
SHORT = {"performance": "perf", "accessibility": "a11y", "best-practices": "best", "seo": "seo"}
# Those of tests/browser/conftest.py: without the background-networking ones
# Chromium tries many connections to Google's services, refused here.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
METRICS = [  # audit id, column, unit
    ("first-contentful-paint", "FCP", "s"),
    ("largest-contentful-paint", "LCP", "s"),
    ("total-blocking-time", "TBT", "ms"),
    ("cumulative-layout-shift", "CLS", ""),
]
RUN_TIMEOUT_SECONDS = 240
# Lighthouse's estimate of the host's speed; with the simulated 4× slowdown,
# a run under this (other work on the cores) inflates TBT and LCP.
BUSY_BENCHMARK_INDEX = 1000
DEFAULT_CENTRE = "saskarsme"  # a seeded centre with several services, phones and hours
SEARCH = "q=centrs"


def pages(languages: list[str], centre: str, more: bool = False) -> list[tuple[str, str]]:
    """(label, path) of every page audited."""
    found = []
    for lang in languages:
        found += [
            (f"{lang} home", f"/{lang}/"),
            (f"{lang} search", f"/{lang}/?{SEARCH}"),
            (f"{lang} centre", f"/{lang}/centres/{urllib.parse.quote(centre)}"),
        ]
        if more:
            found += [(f"{lang} centres", f"/{lang}/centres/"), (f"{lang} map", f"/{lang}/map?{SEARCH}")]
    return found


# ------------------------------------------------------------------ tools


def ensure_lighthouse() -> None:
    """bench/lighthouse/node_modules from its lock file, when missing."""
    if LIGHTHOUSE.exists():
        return
    if not shutil.which("npm"):
        sys.exit("npm is missing: apt-get install nodejs npm (Lighthouse 12 needs Node 18.16 or later)")
    print("installing Lighthouse (npm ci --prefix bench/lighthouse)…", flush=True)
    subprocess.run(["npm", "ci", "--prefix", str(TOOL_DIR), "--no-audit", "--no-fund", "--loglevel=error"],
                   check=True)


def chromium_path() -> str:
    path = os.environ.get("CHROME_PATH") or "/usr/bin/chromium"
    if not Path(path).exists():
        sys.exit(f"no Chromium at {path}: apt-get install chromium, or set CHROME_PATH")
    return path


def compile_static_files(env: dict[str, str]) -> None:
    """What `make assets` does for `make run`: fingerprinted, compressed copies."""
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "directory", "digest", "compile"],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


# ------------------------------------------------------------------ server


def seed_database(url: str, centre: str) -> str:
    """Migrate and seed the starter data; the centre's slug if it is there,
    else the first one."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "lighthouse"})
    with app.app_context():
        upgrade()
        seed_starter_data(db.session, app.config["STARTER_DATA_DIR"])
        slugs = list(db.session.scalars(select(Organization.slug).order_by(Organization.slug)))
        db.session.remove()
        db.engine.dispose()
    if centre in slugs:
        return centre
    print(f"no centre {centre!r} in the starter data; using {slugs[0]!r}", flush=True)
    return slugs[0]


def get(port: int, path: str, timeout: float = 30) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "br, gzip"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# ------------------------------------------------------------------ Lighthouse


def run_lighthouse(url: str, report: Path, chrome: str) -> dict:
    """One Lighthouse run (mobile, simulated throttling: its defaults); the
    report as a dict. Raises RuntimeError when Lighthouse could not audit."""
    command = [
        str(LIGHTHOUSE), url,
        "--output=json", f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-path={chrome}",
        f"--chrome-flags={' '.join(CHROMIUM_FLAGS)}",
        "--quiet",
    ]
    try:
        done = subprocess.run(command, cwd=TOOL_DIR, capture_output=True, text=True, check=False,
                              timeout=RUN_TIMEOUT_SECONDS, env={**os.environ, "CHROME_PATH": chrome})
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"Lighthouse took longer than {RUN_TIMEOUT_SECONDS} s") from error
    if done.returncode != 0 or not report.exists():
        raise RuntimeError(f"Lighthouse failed ({done.returncode}): {(done.stderr or done.stdout)[-1500:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    if data.get("runtimeError"):
        raise RuntimeError(f"{data['runtimeError'].get('code')}: {data['runtimeError'].get('message')}")
    return data


def scores(data: dict) -> dict[str, int | None]:
    found = {}
    for category in CATEGORIES:
        score = data["categories"].get(category, {}).get("score")
        found[category] = None if score is None else round(score * 100)
    return found


def metrics(data: dict) -> dict[str, float | None]:
    return {column: data["audits"].get(audit, {}).get("numericValue") for audit, column, _ in METRICS}


def lost_points(data: dict, category: str) -> list[tuple[str, float, str]]:
    """(id, score, title) of the scored audits of `category` that did not
    pass, those that weigh most first."""
    found = []
    refs = sorted(data["categories"][category]["auditRefs"], key=lambda ref: -ref.get("weight", 0))
    for ref in refs:
        audit = data["audits"].get(ref["id"], {})
        score = audit.get("score")
        scored = audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings") and score is not None
        # Audits that weigh nothing (diagnostics) only when they clearly fail.
        if scored and score < 1 and (ref.get("weight", 0) > 0 or score < 0.9):
            found.append((ref["id"], score, audit.get("title", "")))
    return found


def under_target(results: list[tuple[str, str, dict]], target: int) -> list[tuple[str, str, int]]:
    """(page, category, score) of every score under the target."""
    return [(label, category, score) for label, _, data in results
            for category, score in scores(data).items() if score is not None and score < target]


def median_run(runs: list[dict]) -> dict:
    """The run whose performance score is the median (Lighthouse's advice)."""
    ordered = sorted(runs, key=lambda data: data["categories"]["performance"]["score"] or 0)
    return ordered[(len(ordered) - 1) // 2]


# ------------------------------------------------------------------ printing


def format_metric(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return f"{value / 1000:.1f} s"
    if unit == "ms":
        return f"{value:.0f} ms"
    return f"{value:.3f}"


def print_table(results: list[tuple[str, str, dict]], target: int) -> None:
    header = f"{'page':<12} {'path':<34}" + "".join(f"{SHORT[c]:>6}" for c in CATEGORIES) + \
        "".join(f"{column:>9}" for _, column, _ in METRICS) + f"{'cpu':>6}"
    print(header)
    print("-" * len(header))
    for label, path, data in results:
        row = scores(data)
        values = metrics(data)
        cells = "".join(
            f"{('–' if row[c] is None else str(row[c]) + ('!' if row[c] < target else '')):>6}" for c in CATEGORIES)
        cells += "".join(f"{format_metric(values[column], unit):>9}" for _, column, unit in METRICS)
        cells += f"{data['environment']['benchmarkIndex']:>6.0f}"
        print(f"{label:<12} {path[:34]:<34}{cells}")
    print(f"(! under the target, {target}; cpu: Lighthouse's benchmark index of the machine during the run)")
    if any(data["environment"]["benchmarkIndex"] < BUSY_BENCHMARK_INDEX for _, _, data in results):
        print(f"The machine was busy during some runs (cpu under {BUSY_BENCHMARK_INDEX}): their performance "
              "is lower than a quiet machine's; run again with nothing else running, or with more --runs.")


def print_lost_points(results: list[tuple[str, str, dict]], target: int) -> None:
    """The audits behind every score under 100; "UNDER TARGET" marks those under the target."""
    for label, _, data in results:
        for category, score in scores(data).items():
            if score is not None and score < 100:
                print(f"\n{label}: {category} {score}" + ("  UNDER TARGET" if score < target else ""))
                for audit_id, audit_score, title in lost_points(data, category):
                    print(f"  {audit_id:<32} {audit_score:>4.2f}  {title}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", nargs="+", default=["lv"], metavar="LANG",
                        help="languages whose three pages are audited (default: lv)")
    parser.add_argument("--centre", default=DEFAULT_CENTRE, help="slug of the centre page audited")
    parser.add_argument("--target", type=int, default=95, help="the least score of each category (default 95)")
    parser.add_argument("--runs", type=int, default=1,
                        help="Lighthouse runs per page; the one with the median performance is shown")
    parser.add_argument("--more", action="store_true",
                        help="also the list of all centres and the results map in each language")
    parser.add_argument("--no-compile", action="store_true",
                        help="serve static/ as it is, without `flask digest compile` first")
    args = parser.parse_args()
    if not 1 <= args.runs <= 9:
        parser.error("--runs: 1 to 9")
    logging.disable(logging.INFO)

    ensure_lighthouse()
    chrome = chromium_path()
    folder = REPORTS / datetime.now().strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)

    results: list[tuple[str, str, dict]] = []
    failures: list[str] = []
    with fresh_database("sqlite", "bench_lighthouse") as url:
        print("seeding the starter data…", flush=True)
        centre = seed_database(url, args.centre)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "lighthouse-benchmark", "PORT": str(port),
               "WORKERS": "2", "THREADS": "4"}
        if not args.no_compile:
            compile_static_files(env)
        try:
            with production_server(env, port, start_seconds=60):
                audited = pages(args.languages, centre, args.more)
                for _ in range(2):  # both workers: templates, catalogues and indexes loaded
                    for _, path in audited:
                        status = get(port, path)
                        if status != 200:
                            failures.append(f"{path}: HTTP {status}")
                for label, path in audited:
                    runs = []
                    for number in range(args.runs):
                        name = f"{label.replace(' ', '-')}-{number + 1}.json"
                        print(f"Lighthouse: {path} ({number + 1}/{args.runs})…", flush=True)
                        try:
                            runs.append(run_lighthouse(f"http://127.0.0.1:{port}{path}", folder / name, chrome))
                        except RuntimeError as error:
                            failures.append(f"{path}: {error}")
                    if runs:
                        results.append((label, path, median_run(runs)))
        except ServerDidNotStart as error:
            sys.exit("the server did not start:\n" + str(error))

    print()
    if results:
        sample = results[0][2]
        print(f"Lighthouse {sample['lighthouseVersion']}, {sample['configSettings']['formFactor']}, "
              f"{sample['configSettings']['throttlingMethod']} throttling, "
              f"{args.runs} run(s) a page, CPU benchmark index "
              f"{statistics.median(r[2]['environment']['benchmarkIndex'] for r in results):.0f}")
        print_table(results, args.target)
        print_lost_points(results, args.target)
    print(f"\nreports: {folder.relative_to(ROOT)}/")
    for failure in failures:
        print(f"FAILED {failure}")
    if failures:
        return 2
    return 1 if under_target(results, args.target) else 0


if __name__ == "__main__":
    sys.exit(main())
