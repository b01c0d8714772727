"""Which search index a search reads, and how it follows the writes.

Every search reads search_state (one row). The request that sees it move
is answered from the index its process has; when the request is done, a
thread (one per process and database) reads the change log, applies the
changed services (facet_build.apply_changes: milliseconds) and swaps the
new index in. It then keeps reading the counter every
SEARCH_INDEX_POLL_SECONDS while searches come, so an idle process is
current within that time too. A whole index is built anew only when
applying stops paying (a taxonomy change, a bulk write of thousands of
services, a tail of TAIL_LIMIT services, a log pruned past what the process
had seen); from BUILD_ELSEWHERE_FROM services in a child process, whose
garbage and CPU time are never the worker's. With SEARCH_INDEX_REFRESH =
"inline" (the tests) the request that sees the change applies it first.
"""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from time import monotonic

from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from . import facet_build
from .facets import FacetIndex, SearchState
from .models import Service

log = logging.getLogger(__name__)

# Services placed through the tail before a new index is built in name order.
TAIL_LIMIT = 2000
# From this many services a whole index is built in a process of its own.
BUILD_ELSEWHERE_FROM = 20_000
# A refreshing thread stops reading the counter this long after the last search.
IDLE_SECONDS = 300.0


class LiveIndex:
    """The current index of one database in this process, and the thread
    that keeps it current."""

    def __init__(self, engine: Engine, languages: tuple[str, ...]):
        self.engine = engine
        self.languages = languages
        self.index: FacetIndex | None = None
        self.poll_seconds = 0.0
        self.last_used = monotonic()
        self._refreshing = threading.Lock()  # one build or refresh at a time
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._wake = threading.Event()

    def current(self, session: Session, inline: bool) -> FacetIndex:
        """The index to answer from now: the current one, however far the
        data has moved (a refresh is started), unless there is none yet for
        this database or `inline` asks for the data as it is."""
        self.last_used = monotonic()
        state = facet_build.read_state(session)
        index = self.index
        if index is not None and index.state == state:
            return index
        if index is None or index.state.generation != state.generation or inline:
            with self._refreshing:
                self.refresh(session, state)
            if index is None and self.poll_seconds and not inline:
                self._start_refreshing()  # from now on it reads the counter while searches come
            return self.index
        self._refresh_after_this_request()
        return index

    def _refresh_after_this_request(self) -> None:
        """Start refreshing once this request is done (init_app), so that
        the thread does not share the interpreter with it; at once outside
        a request."""
        if has_request_context():
            g.setdefault("search_indexes_to_refresh", set()).add(self)
        else:
            self._start_refreshing()

    def refresh(self, session: Session, state: SearchState | None = None) -> None:
        """Bring the index up to `state` (default: the database's now); the
        caller holds _refreshing."""
        state = state or facet_build.read_state(session)
        before = self.index
        if before is not None and before.state == state:
            return
        changes = None
        if before is not None and before.state.generation == state.generation \
                and state.pruned_through <= before.change_cursor:
            changes = facet_build.read_changes(session, before)
            if changes.everything or len(before.tail) + len(changes.service_ids) > TAIL_LIMIT:
                changes = None
        if changes is not None:
            self.index = facet_build.apply_changes(session, before, changes, state, self.languages)
            return
        started = monotonic()
        del before
        self.index = self._build(session, state)
        log.info("search index built in %.1f s (%d services)", monotonic() - started, self.index.size)

    def _build(self, session: Session, state: SearchState) -> FacetIndex:
        """A whole index: for a large directory in a process of its own (its
        garbage and its CPU time never this worker's; this one only reads the
        result), else here."""
        url = self.engine.url
        in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        if not in_memory and session.execute(select(func.count()).select_from(Service)).scalar() >= BUILD_ELSEWHERE_FROM:
            try:
                return build_in_child(url.render_as_string(hide_password=False), self.languages)
            except ChildBuildFailed as failure:
                log.error("search index: the child build failed, building here: %s", failure)
        return facet_build.build_facet_index(session, self.languages, state)

    def _start_refreshing(self) -> None:
        with self._thread_lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="search-index-refresh", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                with Session(self.engine) as session, self._refreshing:
                    self.refresh(session)
            except Exception:  # the requests go on with the index they have
                log.exception("the search index could not be refreshed")
                with self._thread_lock:
                    self._thread = None
                return
            with self._thread_lock:
                idle = monotonic() - self.last_used > IDLE_SECONDS
                if not self._wake.is_set() and (not self.poll_seconds or idle):
                    self._thread = None
                    return
            if not self._wake.is_set():
                self._wake.wait(self.poll_seconds)

    def wait_until_idle(self, timeout: float = 5.0) -> bool:
        """For tests and benchmarks: whether the refreshing thread finished
        within `timeout` seconds."""
        deadline = monotonic() + timeout
        while monotonic() < deadline:
            with self._thread_lock:
                thread = self._thread
            if thread is None:
                return True
            thread.join(min(0.05, max(0.0, deadline - monotonic())))
        return False


class ChildBuildFailed(Exception):
    pass


def build_in_child(database_url: str, languages: tuple[str, ...]) -> FacetIndex:
    """build_facet_index in a new Python process (directory/index_builder.py),
    read back as it is unpickled from the pipe. The URL goes through stdin,
    never the command line (`ps` shows that to every user)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "directory.index_builder"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        child.stdin.write(json.dumps({"url": database_url, "languages": list(languages)}).encode() + b"\n")
        child.stdin.close()
        try:
            index = pickle.load(child.stdout)  # our own child's answer
        except (EOFError, pickle.UnpicklingError) as error:
            raise ChildBuildFailed(f"{error!r}: {child.stderr.read().decode(errors='replace')[-2000:]}") from None
        if child.wait() != 0:
            raise ChildBuildFailed(child.stderr.read().decode(errors="replace")[-2000:])
        return index
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()


_cache: dict[tuple, LiveIndex] = {}
_cache_lock = threading.Lock()


def forget_all() -> None:
    """Drop every index of this process and stop their threads (the tests,
    whose databases come and go)."""
    with _cache_lock:
        lives = list(_cache.values())
        _cache.clear()
    for live in lives:
        live.poll_seconds = 0
        live._wake.set()
        live.wait_until_idle()


def live_index(session: Session, languages=None) -> LiveIndex:
    if languages is None:
        languages = current_app.config["LANGUAGES"] if has_app_context() else ()
    engine = session.get_bind()
    cache_key = (str(engine.url), tuple(languages))
    with _cache_lock:
        live = _cache.get(cache_key)
        if live is None:
            live = _cache[cache_key] = LiveIndex(engine, tuple(languages))
    live.engine = engine  # each app (each test) has its own engine for one URL
    if has_app_context():
        live.poll_seconds = float(current_app.config.get("SEARCH_INDEX_POLL_SECONDS", 0.5))
    return live


def facet_index(session: Session, languages=None) -> FacetIndex:
    """The index to answer a search from: built on first use in this
    process; after a write the one before it, until the change is applied
    (SEARCH_INDEX_REFRESH = "inline": the change is applied first).
    `languages` (default: the app's LANGUAGES) come first among the
    language filters, offered even where no service speaks them yet."""
    inline = has_app_context() and current_app.config.get("SEARCH_INDEX_REFRESH", "background") == "inline"
    return live_index(session, languages).current(session, inline)


def init_app(app: Flask) -> None:
    @app.teardown_request
    def refresh_search_indexes(_error=None) -> None:
        for live in g.pop("search_indexes_to_refresh", ()):
            live._start_refreshing()


def warm_up(session: Session) -> FacetIndex:
    """Build this process's index before it takes requests (gunicorn's
    post_worker_init), so that no resident waits for it."""
    return facet_index(session)
