"""Languages: the /<lang>/ prefix of every page and Flask-Babel's locale."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_babel import Babel


def supported_languages() -> list[str]:
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


def init_app(app: Flask, babel: Babel) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def language_context() -> dict:
        return {"current_lang": select_locale(), "languages": supported_languages()}
