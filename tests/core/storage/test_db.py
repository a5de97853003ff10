import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from core.storage.db import alembic_config, make_engine, session_scope, upgrade_database
from core.storage.models import Analysis, Base, Instrument, Measurement, Run, Spot


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent(database_url):
    upgrade_database(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        version = connection.execute(text("select version_num from alembic_version")).scalar()
    engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert version == head == "0002"


def _run_with_spots(session, n_spots=3):
    instrument = Instrument(name="sim", backend="sim")
    run = Run(name="screen", instrument=instrument, grid={"rows": 1}, grid_hash="ab" * 32)
    for order in range(n_spots):
        run.spots.append(
            Spot(order=order, row=0, col=order, x_um=11.0 * order, y_um=0.0, condition="j=0.78",
                 technique={"kind": "galvanostatic"}, current_density_mA_cm2=0.78, duration_s=5.0)
        )
    session.add(run)
    session.flush()
    return run


def test_run_spots_measurements_and_analyses_round_trip(database_url):
    with session_scope(database_url) as session:
        run = _run_with_spots(session)
        spot = run.spots[1]
        spot.measurement = Measurement(path="spots/1/1.h5", sha256="0" * 64, n_samples=1946)
        session.add(Analysis(spot_id=spot.id, kind="galvanostatic", version=1,
                             parameters={"smoothing_s": 0.05}, results={"e_nuc_V": -0.135},
                             software_version="0.1.0"))
        run_id = run.id
    with session_scope(database_url) as session:
        run = session.get(Run, run_id)
        assert [s.col for s in run.spots] == [0, 1, 2]
        assert run.spots[1].measurement.n_samples == 1946
        assert run.spots[0].state == "pending"
        assert run.created_at.tzinfo is not None or database_url.startswith("sqlite")
        stored = session.scalars(select(Analysis)).one()
        assert stored.results == {"e_nuc_V": -0.135}


def test_a_spot_order_is_unique_within_a_run(database_url):
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        run = _run_with_spots(session, n_spots=1)
        session.add(Spot(run_id=run.id, order=0, row=0, col=1, x_um=0, y_um=0, condition="x"))
        session.flush()


def test_an_analysis_version_is_unique_per_spot_and_kind(database_url):
    with session_scope(database_url) as session:
        spot_id = _run_with_spots(session, n_spots=1).spots[0].id
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        for _ in range(2):
            session.add(Analysis(spot_id=spot_id, kind="sem", version=1, software_version="0.1"))
        session.flush()


def test_sqlite_runs_in_wal_mode(tmp_path):
    url = f"sqlite:///{tmp_path / 'x' / 'm.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
