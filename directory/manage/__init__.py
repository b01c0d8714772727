"""Centre editors keep their own listings and answer referrals: /<lang>/manage/."""

from .. import i18n

bp = i18n.localized_blueprint("manage", __name__, "/manage")
# Who may use these pages: a centre's editors, and admins (every centre).
EDITORS = ("editor", "admin")

from . import routes, referral_routes, stats_routes, review_routes  # noqa: E402  (the views register on bp)
