"""Social workers refer clients to services: /<lang>/referrals/."""

from .. import i18n

bp = i18n.localized_blueprint("referrals", __name__, "/referrals")

from . import routes  # noqa: E402  (the views register on bp)
