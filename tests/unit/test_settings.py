"""Settings: argument > environment > default; bad values named; the README documents each."""

from __future__ import annotations

from pathlib import Path

import pytest

from placecode.settings import SETTINGS, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_settings_precedence_argument_over_env_over_default(tmp_path):
    env = {"PLACECODE_PORT": "9000", "PLACECODE_INSTANCE_DIR": str(tmp_path)}
    assert Settings.load(env=env).port == 9000
    assert Settings.load(env=env, port=9100).port == 9100
    assert Settings.load(env={"PLACECODE_INSTANCE_DIR": str(tmp_path)}).port == 8050


def test_settings_default_database_is_sqlite_in_instance(tmp_path):
    s = Settings.load(env={"PLACECODE_INSTANCE_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'placecode.db'}"


def test_settings_secret_key_generated_once_with_private_mode(tmp_path):
    a = Settings.load(env={"PLACECODE_INSTANCE_DIR": str(tmp_path)})
    b = Settings.load(env={"PLACECODE_INSTANCE_DIR": str(tmp_path)})
    assert a.secret_key == b.secret_key and len(a.secret_key) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("env,name", [
    ({"PLACECODE_PORT": "eighty"}, "PLACECODE_PORT"),
    ({"PLACECODE_LANG": "fr"}, "PLACECODE_LANG"),
    ({"PLACECODE_RETENTION_DAYS": "0"}, "PLACECODE_RETENTION_DAYS"),
])
def test_settings_bad_value_names_the_setting(tmp_path, env, name):
    with pytest.raises(SettingsError, match=name):
        Settings.load(env={"PLACECODE_INSTANCE_DIR": str(tmp_path), **env})


def test_settings_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [s.name for s in SETTINGS if s.name not in readme]
    assert missing == []
