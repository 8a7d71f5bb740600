"""A whole drill from the app (DRL-1, DRL-2, issue 10): scenario, participants, speed; SIMULATION
on every screen; the team's timings; the drill report."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from bedside.views.session.context import SCREENS
from bedside.views.session.hub import SessionScreens
from drivers.types import VitalKind
from tests.alarms.helpers import obs
from tests.bedside.session.conftest import Rig
from tests.bedside.session.test_full_session import choose, click, deliver, field, said, sign_in_first_start


@pytest.mark.req("DRL-1")
@pytest.mark.req("DRL-2")
@pytest.mark.timeout(120)
def test_a_whole_drill_from_the_drill_screen(qtbot: QtBot, drill_rig: Rig) -> None:
    """Issue 10: drills ran only from the command line. Here the drill is started, played, logged
    and reported from the Drill screen, and every screen says SIMULATION."""
    rig = drill_rig
    s = rig.services
    hub = SessionScreens(s)
    qtbot.addWidget(hub)
    hub.resize(1366, 768)
    hub.show()
    assert "SIMULATION" in hub.windowTitle() and "SIMULATION" in hub.banner.text()
    for name in SCREENS:
        marks = hub.screens[name].findChildren(QWidget, "simulationMark")
        assert marks and "SIMULATION" in marks[0].text(), name  # type: ignore[attr-defined]
    sign_in_first_start(hub)

    drill = hub.show_screen("Drill")
    choose(drill, "drillScenario", "desaturation")
    field(drill, QWidget, "drillSpeed").setValue(10)  # type: ignore[attr-defined]
    click(drill, "startDrill")
    assert rig.launched == [("desaturation", 10.0)]
    assert "desaturation" in field(drill, QWidget, "drillState").text()  # type: ignore[attr-defined]

    # The scenario plays: SpO2 falls, the alarm sounds; the team acknowledges after 20 s and
    # starts the desaturation protocol after 35 s.
    deliver(rig, [obs(rig.clock, VitalKind.SPO2, 97), obs(rig.clock, VitalKind.PULSE_RATE, 80)])
    rig.clock.advance(5)
    deliver(rig, [obs(rig.clock, VitalKind.SPO2, 84)])
    alarm = next(a for a in rig.clinical.active_alarms() if a.condition.value == "spo2_low")
    rig.clock.advance(20)
    rig.clinical.acknowledge(alarm.key, "rdiaz")
    rig.clock.advance(15)
    for offer in rig.clinical.offered_protocols:
        rig.desk.offer(offer.protocol_id, offer.reason)
    offered = [o.protocol_id for o in rig.desk.offers]
    assert offered, "the desaturation raised no protocol offer"
    rig.desk.start(offered[0], "rdiaz", acknowledge_flags=True)

    drill.refresh()
    table = drill.timings  # type: ignore[attr-defined]
    assert table.rowCount() >= 1, said(drill)
    row = next(
        r
        for r in range(table.rowCount())
        if "SpO2" in table.item(r, 0).text() or "spo2" in table.item(r, 0).text()
    )
    assert table.item(row, 2).text().startswith("20 s")
    assert table.item(row, 3).text().startswith("35 s")

    click(drill, "logDrill")
    assert "participants" in said(drill)  # a drill is logged with who took part
    field(drill, QWidget, "drillParticipants").setText("Robin Diaz, Sam Okafor, Dr. Lee")  # type: ignore[attr-defined]
    click(drill, "logDrill")
    logs = rig.services.drill.service.drill_logs()  # type: ignore[union-attr]
    assert [log.participants for log in logs] == [("Robin Diaz", "Sam Okafor", "Dr. Lee")]
    assert logs[0].scenario == "desaturation" and logs[0].logged_by == "rdiaz"

    click(drill, "drillReport")
    report = drill.report_path  # type: ignore[attr-defined]
    assert report is not None and report.read_bytes().startswith(b"%PDF"), said(drill)


@pytest.mark.req("DRL-1")
def test_the_drill_screen_on_a_patient_database_says_where_drills_run(qtbot: QtBot, rig: Rig) -> None:
    """Drills never mix with patient records (DRL-1): on the patient database the screen says so."""
    hub = SessionScreens(rig.services)
    qtbot.addWidget(hub)
    sign_in_first_start(hub)
    drill = hub.show_screen("Drill")
    click(drill, "startDrill")  # a drill starts in its own monitor, on the drill database
    assert rig.launched == [("bp-spike", 1.0)]
    click(drill, "logDrill")
    assert "drill database" in said(drill)  # never logged with the patient records
