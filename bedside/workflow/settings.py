"""This station's settings (issue 10, "settings ... stored with platformdirs conventions").

What a clinic's IT person sets once per computer: the clinic defaults file, the devices (as the
``PROTOCOL=URL`` strings ``bedside monitor --device`` takes), the data folder and the database,
and how long the screens stay unlocked without a touch. Stored as JSON in the user's config folder
(``platformdirs.user_config_dir("bedside")``). The clinical numbers (alarm delays among them) stay
in ``alarms/defaults.yaml`` and the clinic's approved config file, never here: a station setting
must not change a rule behind the medical director's approval.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "bedside"
SETTINGS_FILE = "settings.json"
#: Minutes without a touch before actions lock behind the PIN (the monitor stays live).
DEFAULT_LOCK_AFTER_MIN = 5.0
#: The lock may not be switched off, nor set so long that a walked-away station stays open all day.
LOCK_AFTER_RANGE_MIN = (0.5, 60.0)


class SettingsError(ValueError):
    """A settings value or file that cannot be used; the message says which and what to do."""


def settings_path(config_dir: Path | None = None) -> Path:
    """Where this user's settings file lives (``config_dir`` for tests and portable installs)."""
    folder = config_dir if config_dir is not None else Path(platformdirs.user_config_dir(APP_NAME))
    return folder / SETTINGS_FILE


def default_data_folder() -> Path:
    """Bedside's data folder when none is set: the platform's user data folder."""
    return Path(platformdirs.user_data_dir(APP_NAME))


@dataclass(frozen=True, slots=True)
class StationSettings:
    """The station's settings; every field has a working default (a first start needs none)."""

    clinic_config: str = ""  # a clinic defaults YAML; "" = the packaged defaults
    devices: tuple[str, ...] = ()  # PROTOCOL=URL, as ``bedside monitor --device`` takes them
    database_url: str = ""  # "" = SQLite in the data folder
    data_folder: str = ""  # "" = the platform's user data folder
    export_folder: str = ""  # "" = the data folder's "exports"
    lock_after_min: float = DEFAULT_LOCK_AFTER_MIN

    def checked(self) -> StationSettings:
        """These settings, or SettingsError naming every value that cannot be used."""
        problems: list[str] = []
        low, high = LOCK_AFTER_RANGE_MIN
        if not low <= self.lock_after_min <= high:
            problems.append(
                f"the screen lock must come after {low:g} to {high:g} minutes without a touch, "
                f"not {self.lock_after_min:g}"
            )
        for text in self.devices:
            protocol, sep, url = text.partition("=")
            if not sep or not protocol.strip() or not url.strip():
                problems.append(f"device {text!r}: write PROTOCOL=URL, e.g. masimo-ascii=/dev/ttyUSB0")
        if "://" in self.database_url and "@" in self.database_url.split("://", 1)[1].split("/", 1)[0]:
            host_part = self.database_url.split("://", 1)[1].split("@", 1)[0]
            if ":" in host_part:
                problems.append(
                    "the database URL carries a password, which would be stored in plain text: "
                    "remove it and set BEDSIDE_DB_PASSWORD (or PGPASSWORD) or use ~/.pgpass"
                )
        if problems:
            raise SettingsError("; ".join(problems))
        return self

    @property
    def data_path(self) -> Path:
        """The data folder in force."""
        return Path(self.data_folder) if self.data_folder else default_data_folder()

    @property
    def export_path(self) -> Path:
        """Where exports are written unless the clinician picks another file."""
        return Path(self.export_folder) if self.export_folder else self.data_path / "exports"

    @property
    def lock_after_s(self) -> float:
        """The inactivity before the lock, in seconds."""
        return self.lock_after_min * 60.0

    def with_changes(self, **changes: Any) -> StationSettings:
        """A copy with ``changes`` applied and checked."""
        return replace(self, **changes).checked()


class SettingsStore:
    """Reads and writes ``StationSettings`` as JSON in one file (written whole, atomically)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else settings_path()

    def load(self) -> StationSettings:
        """The stored settings; defaults when there is no file. SettingsError for a damaged file."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return StationSettings()
        except OSError as exc:
            raise SettingsError(
                f"the settings file {self.path} cannot be read: {exc.strerror or exc}"
            ) from None
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise TypeError("not a JSON object")
            known = {f for f in StationSettings.__dataclass_fields__}
            unknown = sorted(set(raw) - known)
            if unknown:
                log.warning("settings %s: ignoring unknown entries %s", self.path, ", ".join(unknown))
            values = {k: v for k, v in raw.items() if k in known}
            if "devices" in values:
                values["devices"] = tuple(str(d) for d in values["devices"])
            if "lock_after_min" in values:
                values["lock_after_min"] = float(values["lock_after_min"])
            return StationSettings(**values).checked()
        except (ValueError, TypeError, AttributeError) as exc:
            raise SettingsError(
                f"the settings file {self.path} cannot be used ({exc}): fix it, or delete it to start "
                "from the defaults"
            ) from None

    def save(self, settings: StationSettings) -> Path:
        """Write ``settings`` (checked first); returns the file written."""
        settings.checked()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(settings)
        data["devices"] = list(settings.devices)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(partial, self.path)
        log.info("station settings saved to %s", self.path)
        return self.path
