from pathlib import Path

from core.settings import Settings, normalise_database_url


def test_embedded_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("MENISCUS_DATA_DIR", "DATABASE_URL", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.data_dir == Path("data")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'meniscus.db'}"
    assert settings.celery_broker_url is None
    assert settings.run_dir(7) == Path("data/runs/7")


def test_environment_and_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / ".env").write_text("MENISCUS_DATA_DIR=/srv/meniscus\nCELERY_BROKER_URL=redis://x\n")
    monkeypatch.setenv("DATABASE_URL", "postgresql://lab@db/meniscus")
    settings = Settings()
    assert settings.data_dir == Path("/srv/meniscus")
    assert settings.celery_broker_url == "redis://x"
    assert settings.resolved_database_url == "postgresql+psycopg://lab@db/meniscus"


def test_normalise_keeps_explicit_drivers():
    assert normalise_database_url("sqlite:///a.db") == "sqlite:///a.db"
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
