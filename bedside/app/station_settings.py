"""What Session > Settings and Devices saved for this station, applied to `bedside monitor`'s options.

Kept apart from ``bedside.app.session`` (the session screens and every service they use) so the
monitor reads its settings before the first paint without importing those services (issue 10).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bedside.workflow.settings import SettingsStore, StationSettings

log = logging.getLogger(__name__)


def apply_station_settings(args: argparse.Namespace, store: SettingsStore | None = None) -> StationSettings:
    """Fill what the command line left out from this station's saved settings (issue 10): the
    devices (unless ``--simulate``), the database (with real devices only: simulators keep to the
    drill database) and the clinic defaults file. SettingsError for a
    damaged settings file."""
    settings = (store or SettingsStore()).load()
    if not args.device and not getattr(args, "simulate", False) and settings.devices:
        args.device = list(settings.devices)
        log.info("devices from the station settings: %s", ", ".join(settings.devices))
    # The saved database holds patient records: a simulation keeps to the drill database.
    if getattr(args, "db", None) is None and settings.database_url and args.device:
        args.db = settings.database_url
    if getattr(args, "clinic_config", None) is None and settings.clinic_config:
        args.clinic_config = Path(settings.clinic_config)
    return settings
