"""Languages: the /<lang>/ prefix of every page and Flask-Babel's locale."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError
from flask import Blueprint, Flask, abort, current_app, g, request, url_for
from flask_babel import Babel


def supported_languages() -> list[str]:
    """The languages the directory speaks: the LANGUAGES setting, the one
    place that names them. Everything else (URL prefixes, the switcher,
    taxonomy labels, the admin's term form, the seed) follows it."""
    return current_app.config["LANGUAGES"]


def default_language() -> str:
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def negotiated_language() -> str:
    """The visitor's best language from Accept-Language, else the default."""
    return request.accept_languages.best_match(supported_languages()) or default_language()


def select_locale() -> str:
    # The URL decides; pages outside a language prefix (errors before routing)
    # fall back to the default language.
    return getattr(g, "lang", None) or default_language()


@lru_cache(maxsize=64)
def autonym(code: str) -> str:
    """A language's name in itself, as a menu item shows it: 'Latviešu',
    'Русский', 'Eesti' (from Babel's CLDR data); the code itself for a
    language Babel does not know."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


def url_in_language(lang: str, external: bool = False) -> str:
    """This page in another language, with the same query string. Pages that
    failed before routing (a 404) switch to that language's home page."""
    if request.url_rule is not None and request.endpoint and "lang_code" in request.url_rule.arguments:
        url = url_for(request.endpoint, **{**(request.view_args or {}), "lang_code": lang}, _external=external)
        query = request.query_string.decode("utf-8", "replace")
        return f"{url}?{query}" if query else url
    return url_for("public.home", lang_code=lang, _external=external)


def localized_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    """A blueprint whose every URL starts with /<lang>/: the language comes
    from the URL, and url_for() keeps the current one."""
    bp = Blueprint(name, import_name, url_prefix="/<lang_code>" + url_prefix)

    @bp.url_value_preprocessor
    def pull_language(endpoint, values):
        lang = (values or {}).pop("lang_code", None)
        if lang not in supported_languages():
            abort(404, "Unknown language prefix")
        g.lang = lang

    @bp.url_defaults
    def add_language(endpoint, values):
        if "lang_code" not in values and getattr(g, "lang", None):
            values["lang_code"] = g.lang

    return bp


def init_app(app: Flask, babel: Babel) -> None:
    languages = app.config["LANGUAGES"]
    if not languages or app.config["BABEL_DEFAULT_LOCALE"] not in languages:
        raise ValueError(
            f"BABEL_DEFAULT_LOCALE {app.config['BABEL_DEFAULT_LOCALE']!r} must be one of LANGUAGES {languages!r}"
        )
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def language_context() -> dict:
        return {
            "current_lang": select_locale(),
            "languages": supported_languages(),
            "autonym": autonym,
            "url_in_language": url_in_language,
        }
