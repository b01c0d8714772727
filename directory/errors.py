"""Friendly error pages in the visitor's language."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException


def render_error(error: HTTPException):
    template = "errors/404.html" if error.code == 404 else "errors/error.html"
    return render_template(template, error=error), error.code


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
