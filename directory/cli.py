"""Command-line tasks: `flask --app directory seed`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from .extensions import db
from .seeding import database_is_empty, seed_starter_data


@click.command("seed")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Only seed when the database holds no organization yet (used by `make run`).",
)
@with_appcontext
def seed_command(if_empty: bool) -> None:
    """Load the starter listings from the source documents (idempotent)."""
    if if_empty and not database_is_empty(db.session):
        click.echo("The database already holds listings; not seeding.")
        return
    report = seed_starter_data(db.session)
    click.echo(
        f"Seeded {report.organizations} organizations, {report.services} services, "
        f"{report.locations} locations, {report.terms} taxonomy terms "
        f"and {report.sources} source documents."
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_command)
