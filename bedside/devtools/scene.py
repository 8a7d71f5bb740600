"""A staged monitor screen for screenshots and layout tests: a patient mid-infusion with a BP spike,
several alarms at once and the BP-spike protocol at its decision point with its longest answers;
optionally with two more oximeters (a Nonin and an HL7 feed, the feed's link pulled at the end).

Everything runs on a ``FakeClock`` and real engine objects (clinical session, protocol desk, the
window), so what the picture shows is what the app shows; only the clock and the data are staged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from drivers.clock import FakeClock
from drivers.types import (
    CANONICAL_UNIT,
    DecodeResult,
    DeviceEvent,
    DeviceEventKind,
    Observation,
    Quality,
    VitalKind,
)

if TYPE_CHECKING:
    from bedside.views.window import MonitorWindow
    from bedside.workflow.clinical import ClinicalSession
    from bedside.workflow.protocol_desk import ProtocolDesk

log = logging.getLogger(__name__)

NURSE = "RN Okafor"
OXIMETER = "sim-masimo-ascii-1"
CUFF = "sim-suntech-advantage-1"
#: The oximeters beyond the first, with how far their readings sit from the first's and how often
#: they send (seconds): a second probe, and a gateway's HL7 feed every 10 s.
MORE_OXIMETERS = (("sim-nonin-9560-1", -1.0, 2.0, 2), ("hl7-icu-gateway", 1.0, -1.0, 10))
#: The decision point whose answers were cut to ", no em" (issue 10).
LONG_ANSWERS_STEP = "improving"


@dataclass
class Scene:
    """The staged window and what it was built from."""

    window: MonitorWindow
    clock: FakeClock
    clinical: ClinicalSession
    desk: ProtocolDesk
    records: list[object] = field(default_factory=list)
    #: The oximeters beyond the first that send (``MORE_OXIMETERS``' first entries).
    more: tuple[tuple[str, float, float, int], ...] = ()

    def deliver(self, source: str, observations: list[Observation]) -> None:
        """Hand observations to the core as a link would and apply them now."""
        self.window.core.on_result(DecodeResult(observations=tuple(observations), frames=1), source)
        self.window._on_data_arrived()

    def obs(self, kind: VitalKind, value: float, source: str = OXIMETER) -> Observation:
        """An observation measured now on the scene's clock."""
        now = self.clock.now()
        return Observation(
            kind=kind,
            value=value,
            unit=CANONICAL_UNIT[kind],
            measured_at=now,
            received_at=now,
            received_mono=self.clock.monotonic(),
            source=source,
            quality=Quality.VALID,
        )

    def nibp(self, systolic: float, diastolic: float) -> None:
        """One NIBP cycle measured now."""
        mean = round((systolic + 2 * diastolic) / 3)
        kinds = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
        self.deliver(
            CUFF, [self.obs(k, v, CUFF) for k, v in zip(kinds, (systolic, diastolic, mean), strict=True)]
        )

    def oximetry(self, spo2: float, pulse: float) -> None:
        """One oximeter sample now (and from each further oximeter whose turn it is)."""
        self.deliver(OXIMETER, [self.obs(VitalKind.SPO2, spo2), self.obs(VitalKind.PULSE_RATE, pulse)])
        second = round(self.clock.monotonic())
        for source, d_spo2, d_pulse, every in self.more:
            if second % every < 2:
                self.deliver(
                    source,
                    [
                        self.obs(VitalKind.SPO2, min(100.0, spo2 + d_spo2), source),
                        self.obs(VitalKind.PULSE_RATE, pulse + d_pulse, source),
                    ],
                )

    def run_for(self, seconds: int, spo2: float = 97, pulse: float = 78) -> None:
        """Let time pass with the oximeter sending every 2 s and the clinical tick running; the
        window's whole heartbeat (trend and all) beats once at the end."""
        for _ in range(0, seconds, 2):
            self.clock.advance(2)
            self.oximetry(spo2, pulse)
            self.window.core.tick()
            self.clinical.tick()
        self.window._tick()


def monitor_scene(
    theme: str = "dark",
    size: tuple[int, int] = (1366, 768),
    *,
    protocol: bool = True,
    alarms: bool = True,
    patient: bool = True,
    oximeters: int = 1,
) -> Scene:
    """Build and show the staged monitor window (a QApplication must exist); with ``oximeters``
    of 3, the third's link is pulled a minute before the picture (its values greyed, aged)."""
    from PySide6.QtWidgets import QApplication

    from alarms import ChecklistItem, ThresholdSet, load_config
    from bedside.monitor.core import MonitorCore
    from bedside.views.alarm_sound import AlarmSound
    from bedside.views.patient_banner import PatientOnScreen
    from bedside.views.theme import use_theme
    from bedside.views.window import MonitorWindow
    from bedside.workflow.clinical import ClinicalSession
    from bedside.workflow.protocol_desk import ProtocolDesk
    from protocols import LIBRARY_DIR, load_library

    use_theme(theme)
    clock = FakeClock()
    core = MonitorCore(clock)
    window = MonitorWindow(core, "bp-spike (staged screen)")
    library = load_library(LIBRARY_DIR)
    records: list[object] = []
    config = load_config()
    clinical = ClinicalSession(
        clock, config, session_id="scene", record=records.append,
        nibp_link_send=None, nibp_start_command=None,
        protocols_for=lambda condition: [p.id for p in library.offered_for(condition)],
    )  # fmt: skip
    # A silent stand-in for the speakers: the staged screen must not beep or report "no audio".
    sound = AlarmSound(on_failure=lambda _failed, _why: None, audio_outputs=lambda: ["staged"])
    window.attach_clinical(clinical, clock.now(), alarm_sound=sound)
    desk = ProtocolDesk(
        clock, library, session_id="scene", put=records.append, latest=core.board.latest,
        request_nibp=lambda: False,
    )  # fmt: skip
    window.attach_protocols(desk)
    scene = Scene(window, clock, clinical, desk, records, more=MORE_OXIMETERS[: max(0, oximeters - 1)])
    window.session_controls.clinician.setText(NURSE)
    for source in (OXIMETER, CUFF, *(m[0] for m in scene.more)):  # connected, as a real link says
        core.on_event(DeviceEvent(DeviceEventKind.CONNECTED, source, clock.stamp()))
    window._on_data_arrived()
    if patient:
        window.show_patient(PatientOnScreen("Jordan Lee", 34, 72.5, "penicillin (rash); latex; ondansetron"))

    clinical.begin_baseline(NURSE)
    scene.oximetry(98, 76)
    scene.nibp(122, 78)
    scene.run_for(150)
    scene.nibp(120, 76)
    clinical.confirm_baseline(NURSE)
    clinical.confirm_thresholds(NURSE, ThresholdSet.clinic_default(config))
    for item in ChecklistItem:
        clinical.attest(item, NURSE)
    clinical.start_infusion(NURSE)
    scene.run_for(600)
    if alarms:
        scene.nibp(186, 108)  # past the ceiling: BP high, the protocol offered
        scene.run_for(20, spo2=86, pulse=128)  # SpO2 low and pulse high as well
    if protocol:
        run = desk.start("bp-spike", NURSE, from_offer=False, acknowledge_flags=True)
        run.done(NURSE)
        run.answer(NURSE, "no")
        run.skip(NURSE, "cuff reading taken by hand")
        run.answer(NURSE, "yes")
        run.answer(NURSE, "yes")
        run.confirm_medication(NURSE, clock.now() - timedelta(seconds=30), True)
        scene.run_for(300, spo2=86, pulse=128)  # the recheck timer falls due: an alarm until acknowledged
        run.done(NURSE)
        run.skip(NURSE, "cuff reading taken by hand")
        window.protocol_panel.select_run(run.run_id)
        window.protocol_panel.refresh()
    if len(scene.more) >= 2:
        # The HL7 feed's link goes down: its values stay, greyed with their age (ALM-2).
        feed = scene.more[1][0]
        core.on_event(DeviceEvent(DeviceEventKind.DISCONNECTED, feed, clock.stamp()))
        scene.more = scene.more[:1]
        window._on_data_arrived()
        scene.run_for(60, spo2=86 if alarms else 97, pulse=128 if alarms else 78)
    window.resize(*size)
    window.show()
    app = QApplication.instance()
    if app is not None:
        app.processEvents()
    window.refresh()
    # Again once the text has its size for this window: a window first laid out with the text
    # of another size may have been held larger by the minimum of that moment.
    window.resize(*size)
    if app is not None:
        app.processEvents()
    return scene
