"""/<lang>/account/…: sign in, sign out, ask for an account, reset a password,
and the signed-in user's own account page."""

from __future__ import annotations

import hashlib

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import accounts, audit, i18n, sign_ins
from ..extensions import db, limiter
from ..mail import public_url, queue_email
from ..models import User
from ..shortlists import SESSION_KEY as SHORTLIST_KEY
from ..web import or_404, safe_next, signed_in_user
from . import bp
from .forms import LoginForm, PasswordChangeForm, ResetForm, ResetRequestForm, SignOutEverywhereForm, SignupForm

# What a visitor's session keeps across signing in: their shortlist (it joins
# the saved one). Everything else, the CSRF token included, starts afresh.
KEPT_ACROSS_SIGN_IN = (SHORTLIST_KEY,)


def home_for(user: User) -> str:
    if user.role == "admin":
        return url_for("admin.index")
    if user.role == "editor":
        return url_for("manage.dashboard")
    return url_for("public.home")


def _account_key() -> str:
    """Rate-limit key of the account a form names, whatever address it comes
    from (a hash: the limiter's storage holds no e-mail addresses)."""
    email = accounts.normalise_email(request.form.get("email", ""))[:254]
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def sign_in(user: User, remember: bool) -> None:
    """A new sign-in on a fresh session: nothing an attacker planted in the
    visitor's session before (a known session or CSRF token) survives it."""
    kept = {key: session[key] for key in KEPT_ACROSS_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    sign_ins.start(db.session, user, remember=remember,
                   duration=sign_ins.lifetime(current_app.config, remember))
    login_user(user, remember=remember,
               duration=sign_ins.lifetime(current_app.config, remember) if remember else None)


def sign_out() -> None:
    logout_user()
    session.clear()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], methods=["POST"], key_func=_account_key)
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            sign_in(user, remember=form.remember.data)
            audit.record(db.session, "login", user, "user", user.id)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or home_for(user))
        audit.record(db.session, "login-failed", None, "user", None, email=accounts.normalise_email(form.email.data))
        db.session.commit()
        flash(_("The e-mail or the password is wrong, or the account is not approved yet."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out: this sign-in ends on the server too, so a copy of its
    cookies stops working."""
    if current_user.is_authenticated:
        user = signed_in_user()
        audit.record(db.session, "logout", user, "user", user.id)
        sign_ins.end(db.session, user)
        db.session.commit()
    sign_out()
    flash(_("You are signed out."), "info")
    return redirect(url_for("public.home"))


@bp.get("/")
@login_required
def account():
    """The signed-in user's own account: change the password, sign out everywhere."""
    return render_template("auth/account.html", password_form=PasswordChangeForm(),
                           everywhere_form=SignOutEverywhereForm())


@bp.post("/password")
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
def change_password():
    """A new password ends every other sign-in; this one goes on."""
    user = signed_in_user()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if accounts.authenticate(db.session, user.email, form.current_password.data) is None:
            form.current_password.errors.append(_("This is not your current password."))
        else:
            remember = bool(getattr(sign_ins.current(db.session, user), "remember", False))
            accounts.set_password(user, form.password.data)
            sign_ins.end_all(db.session, user)
            sign_in(user, remember=remember)
            audit.record(db.session, "password-change", user, "user", user.id)
            db.session.commit()
            flash(_("Your password is changed. You are signed out on every other device."), "info")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", password_form=form,
                           everywhere_form=SignOutEverywhereForm()), 400


@bp.post("/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every sign-in of this account, on every device, this one included."""
    user = signed_in_user()
    if SignOutEverywhereForm().validate_on_submit():
        ended = sign_ins.end_all(db.session, user)
        audit.record(db.session, "sign-out-everywhere", user, "user", user.id, sessions=ended)
        db.session.commit()
        sign_out()
        flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
def signup():
    """Ask for an account. The answer is the same whether or not the address
    has one already (its owner is told by e-mail instead), so the form tells
    nobody who has an account."""
    form = SignupForm()
    if form.validate_on_submit():
        existing = accounts.find_user(db.session, form.email.data)
        if existing is not None:
            accounts.spend_hashing_time(form.password.data)  # as long as a new account takes
            with force_locale(existing.language):
                queue_email(
                    db.session, existing.email, _("Someone asked for an account with your e-mail"),
                    _("Someone asked for a new account in the social services directory with this e-mail "
                      "address. You have an account already: sign in at %(login)s\n"
                      "If you forgot your password, choose a new one at %(reset)s\n"
                      "If it was not you, ignore this message.",
                      login=public_url("auth.login", lang_code=existing.language),
                      reset=public_url("auth.reset_request", lang_code=existing.language)),
                )
            audit.record(db.session, "signup-request-existing", None, "user", existing.id)
        else:
            user = accounts.request_account(
                db.session, email=form.email.data, name=form.name.data, password=form.password.data,
                role=form.role.data, note=form.note.data, language=i18n.select_locale(),
            )
            db.session.flush()
            for admin in db.session.scalars(db.select(User).where(User.role == "admin", User.status == "active")):
                with force_locale(admin.language):
                    queue_email(
                        db.session, admin.email, _("New account request: %(name)s", name=user.name),
                        _("%(name)s (%(email)s) asks for an account. Approve or refuse it in the administration: %(url)s",
                          name=user.name, email=user.email,
                          url=public_url("admin.accounts", lang_code=admin.language)),
                    )
            audit.record(db.session, "signup-request", None, "user", user.id, role=user.role)
        db.session.commit()
        return render_template("auth/signup_sent.html", name=form.name.data.strip())
    return render_template("auth/signup.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["RESET_ACCOUNT_RATE_LIMIT"], methods=["POST"], key_func=_account_key)
def reset_request():
    """Ask for a link to choose a new password."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = accounts.find_user(db.session, form.email.data)
        if user is not None and user.is_active:
            with force_locale(user.language):
                link = public_url("auth.reset", lang_code=user.language, token=accounts.password_reset_token(user))
                queue_email(
                    db.session, user.email, _("Reset your password"),
                    _("Open this link within an hour to choose a new password: %(link)s\n"
                      "If you did not ask for it, ignore this message.", link=link),
                )
        # The same work and the same answer whether or not the address has an account.
        audit.record(db.session, "password-reset-request", user, "user", user.id if user is not None else None)
        db.session.commit()
        flash(_("If an account uses this e-mail, a link to reset the password is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Choose a new password from a reset link; every sign-in of the account ends."""
    user = or_404(accounts.user_for_reset_token(db.session, token), "Reset link invalid or expired")
    form = ResetForm()
    if form.validate_on_submit():
        accounts.set_password(user, form.password.data)
        ended = sign_ins.end_all(db.session, user)
        audit.record(db.session, "password-reset", user, "user", user.id, sessions=ended)
        db.session.commit()
        if current_user.is_authenticated:
            sign_out()
        flash(_("Your password is changed. Sign in with the new one."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)
