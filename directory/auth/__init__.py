"""Signing in and out, sign-up requests, password reset: /<lang>/account/."""

from .. import i18n

bp = i18n.localized_blueprint("auth", __name__, "/account")

from . import routes  # noqa: E402  (the views register on bp)
