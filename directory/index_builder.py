"""Builds a whole search index in a process of its own and writes it,
pickled, to stdout (live_index.build_in_child reads it). A build reads every
service and folds every text: tens of MB of short-lived objects and seconds
of CPU that would otherwise stay in the serving worker's heap and hold its
interpreter. Reads one JSON line on stdin: {"url": …, "languages": […]}.
"""

import json
import logging
import pickle
import sys

from sqlalchemy import create_engine
from sqlalchemy.orm import Session


def main() -> int:
    logging.disable(logging.INFO)
    request = json.loads(sys.stdin.readline())
    from .facet_build import build_facet_index

    engine = create_engine(request["url"])
    try:
        with Session(engine) as session:
            index = build_facet_index(session, tuple(request["languages"]))
    finally:
        engine.dispose()
    pickle.dump(index, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
