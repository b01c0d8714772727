"""Import speed: `flask import` of an Open Referral HSDS data package of N
clearly synthetic services (bench/hsds_package.py), beside sqlite-utils
loading the same CSV files in the same run.

    .venv/bin/python bench/import.py                  # N = 10,000, SQLite
    .venv/bin/python bench/import.py 20000
    .venv/bin/python bench/import.py --short          # N = 2,000, well under a minute (CI)
    .venv/bin/python bench/import.py --database postgresql   # ours on a throw-away PostgreSQL
    .venv/bin/python bench/import.py --keep           # keep the package and databases

Steps, each a process of its own, timed from start to exit:
  a. write the package (CSV files + datapackage.json; not compared);
  b. the peer: `sqlite-utils insert DB <table> <file>.csv --csv` for every
     file into a fresh SQLite file, then `sqlite-utils enable-fts DB services
     name description --create-triggers` (we keep a full-text index too);
  c. ours: `flask db upgrade` of a fresh database (shown, not compared), then
     `flask import FOLDER` into it;
  d. ours: `flask import FOLDER` again, which should find every row unchanged.

How to read it: rows/s is the package's data rows over the step's seconds;
peak MB is the largest resident memory of the step's process (for the peer,
of its largest process); "time ×" and "memory ×" divide ours by the peer's
(above 1: ours is slower / bigger). The peer only guesses column types and
copies rows: no validation, no references checked, no keys, no per-record
comparison, so ours is expected to be slower; the figures say by how much.
On PostgreSQL the database server's memory is not counted, and the peer
stays on SQLite (sqlite-utils knows nothing else).

The exit status is 0 whatever the figures; it is 1 when a command fails.
A package the importer refuses for its size limits (rows per file, bytes
per file) is reported as refused and is not a failure: the limit options
`flask import --help` offers (`--max-…`) are passed when there are any.
Nothing here touches instance/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent
SHORT_SERVICES = 2_000
# Lines of the importer's answer that say it refused the package for its size.
SIZE_REFUSAL = re.compile(r"more than [\d,.\s]+ rows|larger than|would unpack to more than", re.IGNORECASE)
IMPORTED = re.compile(r"Imported: (\d+) new, (\d+) updated, (\d+) unchanged")


@dataclass
class Run:
    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run `command` and measure its wall time and its own peak RSS.

    Why os.wait4: getrusage(RUSAGE_CHILDREN).ru_maxrss is the largest of all
    children reaped so far, so it never goes down and a small step after a
    big one would show the big one's figure. wait4 answers the usage of the
    one child it reaps (with any children that child reaped itself), so each
    step gets its own peak, from the kernel, without /usr/bin/time."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux, in bytes on macOS.
        peak_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return Run(seconds, peak_mb, process.returncode,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def tail(text: str, lines: int = 12) -> str:
    return "\n".join("      " + line for line in text.strip().splitlines()[-lines:])


# ------------------------------------------------------------------ databases


def with_fresh_postgres(base_url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the server of `base_url` (never the database
    it names, which may hold real data) and a function that drops it."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"bench_import_{uuid.uuid4().hex[:12]}"
    admin_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


def rerun_under_postgres() -> int:
    """No PostgreSQL named in DATABASE_URL: run this script again inside
    scripts/with-postgres.sh, which starts a throw-away cluster and sets it."""
    script = ROOT / "scripts" / "with-postgres.sh"
    return subprocess.call([str(script), sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]])


# ------------------------------------------------------------------ our CLI


def flask_command(*args: str) -> list[str]:
    return [str(VENV_BIN / "flask"), "--app", "directory", *args]


def limit_options(env: dict[str, str], rows: dict[str, int], folder: Path) -> list[str]:
    """The `--max-…` options `flask import` offers, set to what this package
    needs, so that a larger package is measured rather than refused. None
    when the command has no such options (yet)."""
    help_text = subprocess.run(flask_command("import", "--help"), env=env, cwd=ROOT,
                               capture_output=True, text=True, check=False).stdout
    # One above what the package holds: room for a limit read as "fewer than".
    largest_file = max((folder / name).stat().st_size for name in rows) + 1
    options: list[str] = []
    for option in dict.fromkeys(re.findall(r"(--max-[a-z0-9-]+)", help_text)):
        if "row" in option:
            options += [option, str(max(rows.values()) + 1)]
        elif "byte" in option:
            options += [option, str(largest_file)]
        elif option.endswith("-mb"):
            options += [option, str(largest_file // (1024 * 1024) + 1)]
        else:
            print(f"   note: {option} is offered by `flask import`, but this bench does not know its unit; not passed")
    return options


def imported_counts(output: str) -> tuple[int, int, int] | None:
    found = IMPORTED.search(output)
    return tuple(int(value) for value in found.groups()) if found else None


# ------------------------------------------------------------------ the run


@dataclass
class Row:
    step: str
    run: Run | None  # None: not run (refused or failed earlier)
    compared: bool
    note: str = ""


def print_table(rows: list[Row], total_rows: int, peer: Run) -> None:
    print(f"\n{'step':<44} {'seconds':>8} {'rows/s':>10} {'peak MB':>8} {'time ×':>7} {'memory ×':>9}")
    for row in rows:
        if row.run is None:
            print(f"{row.step:<44} {'—':>8} {'—':>10} {'—':>8} {'—':>7} {'—':>9}  {row.note}")
            continue
        run = row.run
        ratios = (f"{run.seconds / peer.seconds:>7.2f} {run.peak_mb / peer.peak_mb:>9.2f}"
                  if row.compared else f"{'':>7} {'':>9}")
        rate = f"{total_rows / run.seconds:>10,.0f}" if row.compared or row.step.startswith("a.") else f"{'':>10}"
        print(f"{row.step:<44} {run.seconds:>8.2f} {rate} {run.peak_mb:>8.1f} {ratios}  {row.note}".rstrip())


def bench(services: int, database: str, keep: bool) -> int:
    failed = False
    workspace = Path(tempfile.mkdtemp(prefix="bench-import-"))
    drop_database = None
    try:
        package = workspace / "package"
        # a. the package, in a process of its own so that its memory is its own
        written = run_measured([sys.executable, str(ROOT / "bench" / "hsds_package.py"), str(package), str(services)])
        if written.returncode != 0:
            print("writing the package failed:\n" + tail(written.stderr))
            return 1
        rows: dict[str, int] = json.loads(written.stdout)
        total_rows = sum(rows.values())
        total_bytes = sum(path.stat().st_size for path in package.iterdir())
        print(f"N={services:,} services: {len(rows)} CSV files, {total_rows:,} rows, "
              f"{total_bytes / 1e6:.1f} MB; ours on {database}")
        table = [Row("a. write package (not compared)", written, False)]

        # b. the peer: one sqlite-utils process per file, then the full-text index
        peer_db = workspace / "sqlite-utils.sqlite"
        peer_runs = []
        for file in rows:
            peer_runs.append(run_measured(
                [str(VENV_BIN / "sqlite-utils"), "insert", str(peer_db), Path(file).stem, str(package / file), "--csv"]))
        peer_runs.append(run_measured(
            [str(VENV_BIN / "sqlite-utils"), "enable-fts", str(peer_db), "services", "name", "description",
             "--create-triggers"]))
        broken = [r for r in peer_runs if r.returncode != 0]
        if broken:
            print("sqlite-utils failed:\n" + tail(broken[0].stderr))
            return 1
        peer = Run(sum(r.seconds for r in peer_runs), max(r.peak_mb for r in peer_runs), 0, "", "")
        table.append(Row(f"b. sqlite-utils insert {len(rows)} CSV + enable-fts", peer, True,
                         f"(enable-fts {peer_runs[-1].seconds:.2f} s)"))

        # c. ours into a fresh database
        if database == "postgresql":
            database_url, drop_database = with_fresh_postgres(os.environ["DATABASE_URL"])
        else:
            database_url = f"sqlite:///{workspace / 'ours.sqlite'}"
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-import",
               # never ask a geocoding service on the network from a benchmark
               "FLASK_GEOCODER": "offline"}
        upgraded = run_measured(flask_command("db", "upgrade"), env)
        if upgraded.returncode != 0:
            print("flask db upgrade failed:\n" + tail(upgraded.stderr))
            return 1
        table.append(Row("c. ours: db upgrade (empty schema)", upgraded, False, "(not compared)"))

        options = limit_options(env, rows, package)
        import_command = flask_command("import", str(package), *options)
        first = run_measured(import_command, env)
        messages = first.stdout + first.stderr
        if first.returncode != 0 and SIZE_REFUSAL.search(messages):
            reasons = [line for line in messages.splitlines() if SIZE_REFUSAL.search(line)]
            print("\nours REFUSED the package for its size limits"
                  + (f" (even with {' '.join(options)})" if options else
                     " (`flask import` offers no option to lift them)") + ":\n"
                  + "\n".join("      " + line for line in reasons[:6]))
            table.append(Row("c. ours: first import", None, True, "refused: size limits"))
            table.append(Row("d. ours: re-import, unchanged", None, True, "not run: nothing was imported"))
        elif first.returncode != 0:
            print(f"\nours: `flask import` FAILED (exit status {first.returncode}):\n{tail(messages)}")
            failed = True
            table.append(Row("c. ours: first import", None, True, "failed"))
            table.append(Row("d. ours: re-import, unchanged", None, True, "not run"))
        else:
            counts = imported_counts(first.stdout)
            table.append(Row("c. ours: first import", first, True,
                             f"({counts[0]:,} new)" if counts else ""))
            again = run_measured(import_command, env)
            if again.returncode != 0:
                print(f"\nours: the re-import FAILED (exit status {again.returncode}):\n"
                      + tail(again.stdout + again.stderr))
                failed = True
                table.append(Row("d. ours: re-import, unchanged", None, True, "failed"))
            else:
                counts = imported_counts(again.stdout)
                if counts is None:
                    note = "(no summary line found)"
                elif counts[0] == counts[1] == 0:
                    note = f"(all {counts[2]:,} unchanged)"
                else:
                    note = f"(NOT all unchanged: {counts[0]:,} new, {counts[1]:,} updated, {counts[2]:,} unchanged)"
                table.append(Row("d. ours: re-import, unchanged", again, True, note))
            notes = [line for line in first.stdout.splitlines() if line.startswith("Note:")]
            for line in notes[:4]:
                print("   importer " + line)

        print_table(table, total_rows, peer)
        return 1 if failed else 0
    finally:
        if drop_database is not None:
            drop_database()
        if keep:
            print(f"\nkept: {workspace}" + (" (the PostgreSQL database is dropped all the same)"
                                            if drop_database else ""))
        else:
            shutil.rmtree(workspace, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("N", nargs="?", type=int, default=10_000, help="services in the package (10,000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="where ours imports (the peer is always SQLite)")
    parser.add_argument("--short", action="store_true", help=f"N = {SHORT_SERVICES:,}, for CI")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.database == "postgresql" and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return rerun_under_postgres()
    return bench(SHORT_SERVICES if args.short else args.N, args.database, args.keep)


if __name__ == "__main__":
    sys.exit(main())
