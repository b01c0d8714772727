"""/<lang>/account/…: sign in, sign out, ask for an account, reset a password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import accounts, audit, i18n
from ..extensions import db, limiter
from ..mail import queue_email
from ..models import User
from .forms import LoginForm, ResetForm, ResetRequestForm, SignupForm

bp = i18n.localized_blueprint("auth", __name__, "/account")


def home_for(user: User) -> str:
    if user.role == "admin":
        return url_for("admin.index")
    if user.role == "editor":
        return url_for("manage.dashboard")
    return url_for("public.home")


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never send someone elsewhere after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            audit.record(db.session, "login", user, "user", user.id)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or home_for(user))
        audit.record(db.session, "login-failed", None, "user", None, email=accounts.normalise_email(form.email.data))
        db.session.commit()
        flash(_("The e-mail or the password is wrong, or the account is not approved yet."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        audit.record(db.session, "logout", current_user, "user", current_user.id)
        db.session.commit()
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("public.home"))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        if accounts.find_user(db.session, form.email.data) is not None:
            form.email.errors.append(_("An account with this e-mail already exists. Sign in or reset the password."))
        else:
            user = accounts.request_account(
                db.session, email=form.email.data, name=form.name.data, password=form.password.data,
                role=form.role.data, note=form.note.data, language=i18n.select_locale(),
            )
            db.session.flush()
            for admin in db.session.scalars(db.select(User).where(User.role == "admin", User.status == "active")):
                queue_email(
                    db.session, admin.email, _("New account request: %(name)s", name=user.name),
                    _("%(name)s (%(email)s) asks for an account. Approve or refuse it in the administration: %(url)s",
                      name=user.name, email=user.email, url=url_for("admin.accounts", _external=True)),
                )
            audit.record(db.session, "signup-request", None, "user", user.id, role=user.role)
            db.session.commit()
            return render_template("auth/signup_sent.html", user=user)
    return render_template("auth/signup.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = accounts.find_user(db.session, form.email.data)
        if user is not None and user.is_active:
            link = url_for("auth.reset", token=accounts.password_reset_token(user), _external=True)
            queue_email(
                db.session, user.email, _("Reset your password"),
                _("Open this link within an hour to choose a new password: %(link)s\n"
                  "If you did not ask for it, ignore this message.", link=link),
            )
            audit.record(db.session, "password-reset-request", user, "user", user.id)
            db.session.commit()
        # The same answer whether or not the address has an account.
        flash(_("If an account uses this e-mail, a link to reset the password is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    user = accounts.user_for_reset_token(db.session, token)
    if user is None:
        abort(404, "Reset link invalid or expired")
    form = ResetForm()
    if form.validate_on_submit():
        accounts.set_password(user, form.password.data)
        audit.record(db.session, "password-reset", user, "user", user.id)
        db.session.commit()
        flash(_("Your password is changed. Sign in with the new one."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)
