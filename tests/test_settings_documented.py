"""Every setting is in the README's configuration table, the way Datasette
checks its documented settings: the settings are the module-level names of
directory/config.py and every key the code reads (`config["X"]`,
`config.get("X")` in directory/ and gunicorn.conf.py, `config.X` in the
templates); the table's rows are parsed, so a name said elsewhere in the
README does not count."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY = re.compile(r"[A-Z][A-Z0-9_]*")

# Settings of Flask and its extensions that directory/config.py sets for them
# and no code of ours reads: their own documentation describes them, and an
# operator has no reason to change them. (A setting an operator should
# change, such as SESSION_COOKIE_SECURE, is in the table although only Flask
# reads it.) The test below fails if the code starts reading one of them.
SET_FOR_EXTENSIONS = {
    "BABEL_TRANSLATION_DIRECTORIES",  # Flask-Babel: where the catalogues are
    "SQLALCHEMY_ENGINE_OPTIONS",  # Flask-SQLAlchemy: pool_pre_ping
    "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",  # Flask
    "REMEMBER_COOKIE_HTTPONLY", "REMEMBER_COOKIE_SAMESITE",  # Flask-Login
    "RATELIMIT_ENABLED", "RATELIMIT_HEADERS_ENABLED", "RATELIMIT_STRATEGY",  # Flask-Limiter
    "COMPRESS_ALGORITHM",  # Flask-Compress
    "FLASK_STATIC_DIGEST_COMPRESSION", "FLASK_STATIC_DIGEST_BLACKLIST_FILTER",  # Flask-Static-Digest
}
# Settings the table lists under the environment variable that sets them.
ENVIRONMENT_NAMES = {"SQLALCHEMY_DATABASE_URI": "DATABASE_URL"}  # directory/__init__.py
# Rows that are environment variables of the Makefile, gunicorn.conf.py or the
# tests, not settings of the app.
NOT_SETTINGS = {"DATABASE_URL", "PORT", "WORKERS", "THREADS", "TEST_DATABASE_URL"}


def defined_settings() -> set[str]:
    """The module-level UPPER_CASE names of directory/config.py."""
    tree = ast.parse((ROOT / "directory" / "config.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        names.update(t.id for t in targets if isinstance(t, ast.Name) and KEY.fullmatch(t.id))
    return names


def _is_config(node: ast.AST) -> bool:
    """`config`, `app.config`, `current_app.config`, `self.app.config`…"""
    return (isinstance(node, ast.Name) and node.id == "config") or (
        isinstance(node, ast.Attribute) and node.attr == "config"
    )


def _key(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.fullmatch(node.value):
        return node.value
    return None


def keys_read_in(source: str) -> set[str]:
    """Keys read as config["X"] or config.get("X", …); config["X"] = … sets."""
    keys = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_config(node.value):
            keys.add(_key(node.slice))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and _is_config(node.func.value) and node.args):
            keys.add(_key(node.args[0]))
    return keys - {None}


TEMPLATE_READ = re.compile(r"""\bconfig(?:\.|\[\s*['"]|\.get\(\s*['"])([A-Z][A-Z0-9_]*)\b""")


def read_settings() -> dict[str, set[str]]:
    """Each key the code reads, with the files that read it."""
    sources = [*sorted((ROOT / "directory").rglob("*.py")), ROOT / "gunicorn.conf.py"]
    found: dict[str, set[str]] = {}
    for path in sources:
        for key in keys_read_in(path.read_text(encoding="utf-8")):
            found.setdefault(key, set()).add(str(path.relative_to(ROOT)))
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for key in TEMPLATE_READ.findall(path.read_text(encoding="utf-8")):
            found.setdefault(key, set()).add(str(path.relative_to(ROOT)))
    return found


def configuration_table() -> list[list[str]]:
    """The rows (cells, stripped) of the table under "## Configuration"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    assert lines[0].replace(" ", "") == "|setting|default|whatitdoes|", lines[0]
    assert set(lines[1].replace(" ", "")) <= set("|-:"), lines[1]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def documented_names() -> set[str]:
    """The names in the first cell of each row: `FLASK_X` documents the setting X."""
    names = set()
    for cells in configuration_table():
        for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]):
            names.add(name.removeprefix("FLASK_"))
    return names


DEFINED = defined_settings()
READ = read_settings()
DOCUMENTED = documented_names()


def test_the_collectors_find_what_they_must():
    """Else the tests below would pass by seeing nothing."""
    assert {"SHORTLIST_LIMIT", "LANGUAGES", "SESSION_COOKIE_SECURE"} <= DEFINED
    assert "directory/public/shortlist_routes.py" in READ["SHORTLIST_LIMIT"]  # config["X"]
    assert "directory/mail.py" in READ["MAIL_USE_TLS"]  # config.get("X")
    assert "templates/public/map.html" in READ["MAP_ATTRIBUTION"]  # config.X in a template
    assert "gunicorn.conf.py" in READ["RATELIMIT_STORAGE_URI"]
    assert {"SHORTLIST_LIMIT", "SECRET_KEY", "DATABASE_URL"} <= DOCUMENTED
    assert keys_read_in('app.config["X"] = 1\nconfig["Y"]\ncurrent_app.config.get("Z", 2)') == {"Y", "Z"}


def test_every_row_says_name_default_and_what_it_does():
    for cells in configuration_table():
        assert len(cells) == 3 and all(cells), cells


@pytest.mark.parametrize("setting", sorted((DEFINED | set(READ)) - SET_FOR_EXTENSIONS))
def test_setting_is_in_the_readme_table(setting):
    assert ENVIRONMENT_NAMES.get(setting, setting) in DOCUMENTED, (
        f"{setting} (read in {sorted(READ.get(setting, ['directory/config.py']))}) "
        "has no row in README.md's configuration table"
    )


def test_settings_left_to_the_extensions_are_set_and_never_read():
    assert SET_FOR_EXTENSIONS <= DEFINED
    assert {key: READ[key] for key in SET_FOR_EXTENSIONS & set(READ)} == {}


def test_every_row_is_a_setting_the_app_has():
    """No row for a setting that is gone or misspelt."""
    known = DEFINED | set(READ) | NOT_SETTINGS
    assert sorted(DOCUMENTED - known - set(ENVIRONMENT_NAMES.values())) == []
