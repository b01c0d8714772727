"""The starter data states what the source documents state, and nothing more."""

from pathlib import Path

import pytest
from sqlalchemy import select

from directory.extensions import db
from directory.models import (
    Address,
    Contact,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    SourceDocument,
    TaxonomyTerm,
)
from directory.seeding import STARTER_DATA_DIR, seed_starter_data

STARTER_CENTRES = {
    "saskarsme",
    "daugavpils-dienas-aprupes-centrs",
    "sarkana-skola",
    "vigante",
    "jaunjelgavas-jaunatnes-iniciativu-centrs",
    "viesites-dienas-centrs",
    "viesites-veselibas-un-socialas-aprupes-centrs",
    "cistiskas-fibrozes-atbalsta-centrs-viesitei",
    "viesites-jaunatnes-iniciativu-centrs",
    "birzu-rajona-daudzfunkcionalie-centri",
    "antazave",
}


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, sorted, for comparing two database states."""
    state = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        state[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return state


def test_seeding_twice_gives_identical_rows(app):
    with app.app_context():
        seed_starter_data(db.session)
        first = snapshot()
        seed_starter_data(db.session)
        db.session.expire_all()
        assert snapshot() == first
        assert len(first["organization"]) == 15


def test_seeding_restores_a_starter_record_changed_by_hand(seeded_app):
    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "saskarsme"))
        org.name = "Wrong name"
        org.locations[0].addresses[0].address_1 = "Wrong street 1"
        db.session.commit()
        seed_starter_data(db.session)
        db.session.expire_all()
        org = db.session.scalar(select(Organization).where(Organization.slug == "saskarsme"))
        assert org.name == "Dienas centrs “Saskarsme”"
        assert org.locations[0].addresses[0].address_1 == "Liepājas iela 4"


def test_every_starter_centre_is_seeded(seeded_app):
    with seeded_app.app_context():
        centres = db.session.scalars(
            select(Organization.slug).where(Organization.services.any())
        ).all()
    assert set(centres) == STARTER_CENTRES


@pytest.mark.parametrize("model", [Organization, Service, Location, Address, Contact])
def test_every_starter_record_names_a_shipped_source_document(seeded_app, model):
    with seeded_app.app_context():
        records = db.session.scalars(select(model)).all()
        assert records
        for record in records:
            assert record.source is not None, record
            assert (STARTER_DATA_DIR / "sources" / record.source_id).is_file()
            assert record.source.text == (
                STARTER_DATA_DIR / "sources" / record.source_id
            ).read_text(encoding="utf-8")


def test_no_invented_phones_hours_emails_or_verification(seeded_app):
    # None of the source texts gives a centre's phone, e-mail or opening hours.
    with seeded_app.app_context():
        assert db.session.scalars(select(Phone)).all() == []
        assert db.session.scalars(select(Schedule)).all() == []
        for org in db.session.scalars(select(Organization)):
            assert org.email is None
            assert org.last_verified is None
        for service in db.session.scalars(select(Service)):
            assert service.free_of_charge is None
            assert service.eligibility_description is None


def test_streets_people_and_websites_appear_in_their_source_text(seeded_app):
    all_text = "\n".join(
        p.read_text(encoding="utf-8") for p in (STARTER_DATA_DIR / "sources").glob("*.txt")
    )
    with seeded_app.app_context():
        for address in db.session.scalars(select(Address)):
            if address.address_1:
                assert address.address_1 in address.source.text
        for contact in db.session.scalars(select(Contact)):
            assert contact.name in contact.source.text
        for org in db.session.scalars(select(Organization)):
            if org.website:
                assert org.website.removeprefix("https://") in all_text


def test_terms_carry_labels_in_four_languages(seeded_app):
    with seeded_app.app_context():
        terms = db.session.scalars(select(TaxonomyTerm)).all()
        assert len(terms) == 41
        for term in terms:
            assert {label.locale for label in term.labels} == {"lv", "lt", "en", "ru"}
            assert all(label.name.strip() for label in term.labels)
        hygiene = next(t for t in terms if t.code == "hygiene")
        assert hygiene.label("lt") == "Asmens higienos paslaugos"
        assert hygiene.lt_catalogue_code == "208"


def test_seed_command_if_empty_leaves_existing_data_alone(seeded_app):
    runner = seeded_app.test_cli_runner()
    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "vigante"))
        org.description = "Edited by the centre"
        db.session.commit()
    result = runner.invoke(args=["seed", "--if-empty"])
    assert result.exit_code == 0
    assert "not seeding" in result.output
    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "vigante"))
        assert org.description == "Edited by the centre"


def test_seed_command_fills_an_empty_database(runner, app):
    result = runner.invoke(args=["seed", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "Seeded 15 organizations, 15 services" in result.output
    with app.app_context():
        assert db.session.get(SourceDocument, "000_67ca51d3bbea5567.txt") is not None


def test_a_broken_starter_file_changes_nothing(app, tmp_path):
    broken = tmp_path / "data"
    (broken / "sources").mkdir(parents=True)
    for path in (STARTER_DATA_DIR / "sources").glob("*.txt"):
        (broken / "sources" / path.name).write_bytes(path.read_bytes())
    (broken / "taxonomy.toml").write_bytes((STARTER_DATA_DIR / "taxonomy.toml").read_bytes())
    centres = (STARTER_DATA_DIR / "centres.toml").read_text(encoding="utf-8")
    # The last centre names a service type that does not exist.
    (broken / "centres.toml").write_text(
        centres.replace('service_types = ["camp"]', 'service_types = ["no-such-type"]'),
        encoding="utf-8",
    )
    with app.app_context():
        with pytest.raises(KeyError):
            seed_starter_data(db.session, Path(broken))
        assert db.session.scalars(select(Organization)).all() == []
        assert db.session.scalars(select(TaxonomyTerm)).all() == []


def test_the_seed_command_reads_the_starter_data_dir_setting(runner, app, tmp_path):
    app.config["STARTER_DATA_DIR"] = str(tmp_path)  # holds no taxonomy.toml nor centres.toml
    result = runner.invoke(args=["seed"])
    assert result.exit_code != 0 and isinstance(result.exception, FileNotFoundError), result.output
    assert str(tmp_path) in str(result.exception)
    with app.app_context():
        assert db.session.scalars(select(Organization)).all() == []
