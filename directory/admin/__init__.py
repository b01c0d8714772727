"""Administrators: accounts, editors, taxonomy, review queue, audit log,
data import: /<lang>/admin/."""

from .. import i18n

bp = i18n.localized_blueprint("admin", __name__, "/admin")

from . import routes, imports, review_routes, claim_routes, merge_routes, unmet_routes  # noqa: E402  (the views register on bp)
