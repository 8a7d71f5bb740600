"""What Session > Devices and Settings saved becomes the monitor's devices, database and clinic
defaults at its next start, unless the command line says otherwise (issue 10)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bedside.app.station_settings import apply_station_settings
from bedside.cli.monitor import add_monitor_arguments
from bedside.workflow.settings import SettingsError, SettingsStore, StationSettings


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_monitor_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    saved = SettingsStore(tmp_path / "settings.json")
    saved.save(
        StationSettings(
            devices=("masimo-ascii=/dev/ttyUSB0", "hl7-pcd01=mllp://0.0.0.0:2575"),
            database_url="postgresql://db.clinic/bedside",
            clinic_config=str(tmp_path / "clinic.yaml"),
        )
    )
    return saved


def test_the_saved_devices_database_and_clinic_defaults_are_used(
    store: SettingsStore, tmp_path: Path
) -> None:
    args = _args()
    apply_station_settings(args, store)
    assert args.device == ["masimo-ascii=/dev/ttyUSB0", "hl7-pcd01=mllp://0.0.0.0:2575"]
    assert args.db == "postgresql://db.clinic/bedside"
    assert args.clinic_config == tmp_path / "clinic.yaml"


def test_the_command_line_wins_and_simulate_keeps_to_the_drill_database(store: SettingsStore) -> None:
    given = _args("--device", "nonin-df2=/dev/ttyS0", "--db", "sqlite:///x.sqlite3")
    apply_station_settings(given, store)
    assert given.device == ["nonin-df2=/dev/ttyS0"] and given.db == "sqlite:///x.sqlite3"
    simulated = _args("--simulate")
    apply_station_settings(simulated, store)
    assert simulated.device == [] and simulated.db is None  # the patient database is never a drill's


def test_no_settings_file_changes_nothing(tmp_path: Path) -> None:
    args = _args()
    apply_station_settings(args, SettingsStore(tmp_path / "none.json"))
    assert args.device == [] and args.db is None and args.clinic_config is None


def test_a_damaged_settings_file_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(SettingsError, match=str(path)):
        apply_station_settings(_args(), SettingsStore(path))
