"""Pages for residents: the home page, centre pages, source documents, the
shortlist. `root` answers `/` alone; `bp` is every page under /<lang>/."""

from flask import Blueprint

from .. import i18n

root = Blueprint("root", __name__)
bp = i18n.localized_blueprint("public", __name__)

from . import routes, shortlist_routes, claim_routes, share_routes, offline_routes  # noqa: E402  (the views register on root and bp)
