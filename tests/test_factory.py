from pathlib import Path

from directory import create_app, normalise_database_url

ROOT = Path(__file__).resolve().parent.parent


def test_folders_resolve_to_the_top_level_layout(app):
    # Relative folders resolve against the package, as Flask and Babel do.
    assert (Path(app.root_path) / app.template_folder).resolve() == ROOT / "templates"
    assert (Path(app.root_path) / app.static_folder).resolve() == ROOT / "static"
    assert app.jinja_env.get_template("base.html").filename == str(ROOT / "templates" / "base.html")
    with app.app_context():
        from flask_babel import get_babel

        assert [(Path(app.root_path) / d).resolve() for d in get_babel().translation_directories] == [
            ROOT / "translations"
        ]
        assert (ROOT / "translations" / "lv" / "LC_MESSAGES" / "messages.mo").exists()


def test_test_config_overrides_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.example/prod")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/x.sqlite"
    assert app.config["SECRET_KEY"] == "from-env"


def test_database_url_from_environment_uses_psycopg(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@localhost:5432/directory")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@localhost:5432/directory"
    assert normalise_database_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_sqlite_in_instance_folder_by_default(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(
        Path(app.instance_path) / "directory.sqlite"
    )
