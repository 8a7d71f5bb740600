"""HL7 v2 ORU^R01 (IHE PCD-01) encoder: a snapshot as the message an HL7 gateway would send.

The inverse of ``drivers.hl7_pcd01``. One message per snapshot, MLLP-framed, with a fresh
control id each time. Rows follow PCD-01's containment tree in OBX-4 (mds.vmd.chan.metric):

- 1.0.0.0 the monitor (MDS, MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS) with its EUI-64 in OBX-18
- 1.1.1.1 SpO2, 1.1.1.2 pulse rate, 1.1.1.3 perfusion index (pulse oximeter), time ``snapshot.at``
- 1.2.1.1 ECG heart rate, time ``snapshot.at``
- 1.3.1.0 the NIBP compound (MDC_PRESS_BLD_NONINV) carrying the cuff cycle's time in OBX-14, and
  1.3.1.1-3 systolic, diastolic, mean without a time of their own (they inherit it)

A value the device does not have (None, probe off, searching, cuff error...) is sent as OBX-11
"X" (result cannot be obtained) with no OBX-5. PCD-01 has no code for *why* (that is PCD-04
alarm territory), so the driver reads such rows back as UNKNOWN, never as a number. Heart rate
and perfusion index rows are left out when the snapshot has none (a monitor without those inputs).

MSH-11 (processing id) is ``T`` (training), never ``P``: the data is marked simulated in-band, so
the driver flags every value ``Observation.simulated`` and nothing downstream can take a drill's
numbers for a patient's (DRL-1). The simulated patient is ``SIM-0001`` and the device's EUI-64
``0123456789ABCDEF`` (a sequence no real device carries).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple

from drivers.hl7_pcd01 import escape_hl7
from drivers.mllp import frame
from drivers.types import Quality
from simulators.model import VitalsSnapshot

log = logging.getLogger(__name__)

_MDS = "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC"
_NIBP_COMPOUND = "150020^MDC_PRESS_BLD_NONINV^MDC"
_PERCENT = "262688^MDC_DIM_PERCENT^MDC"
_PER_MIN = "264864^MDC_DIM_BEAT_PER_MIN^MDC"
_MMHG = "266016^MDC_DIM_MMHG^MDC"
_PCD01_PROFILE = "IHE PCD ORU-R01 2006^HL7^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"


def _number(value: float, decimals: int) -> str:
    """HL7 NM as a device prints it: whole numbers for SpO2, rates and pressures."""
    if decimals == 0:
        return str(round(value))
    return f"{value:.{decimals}f}"


class Hl7Pcd01Encoder:
    """Encodes one PCD-01 ORU^R01 per snapshot, every ``period_s`` seconds (an HL7 gateway's pace)."""

    protocol = "hl7-pcd01"

    def __init__(
        self,
        sending_app: str = "BEDSIDE-SIM",
        equipment_id: str = "0123456789ABCDEF^EUI-64",
        *,
        period_s: float = 5.0,
        device_tz: tzinfo = UTC,
        patient_id: str = "SIM-0001",
        control_id_prefix: str = "BSIM",
    ) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        self.sending_app = sending_app
        #: OBX-18 as written (an EI: entity id ^ namespace, e.g. "0123456789ABCDEF^EUI-64").
        self.equipment_id = equipment_id
        self.period_s = period_s
        self.device_tz = device_tz
        self.patient_id = patient_id
        self.control_id_prefix = control_id_prefix
        self._sequence = 0

    @property
    def last_control_id(self) -> str:
        """MSH-10 of the last message encoded ("" before the first)."""
        return self._control_id(self._sequence) if self._sequence else ""

    def encode(self, snapshot: VitalsSnapshot) -> bytes:
        """One MLLP-framed ORU^R01 for this instant; empty when the device is silent."""
        if snapshot.silent:
            return b""
        self._sequence += 1
        control_id = self._control_id(self._sequence)
        at = self._dtm(snapshot.at)
        eui = self.equipment_id.split("^", 1)[0]
        app = escape_hl7(self.sending_app)
        placer = f"{escape_hl7(control_id)}^{app}^{eui}^EUI-64"
        segments = [
            f"MSH|^~\\&|{app}^{eui}^EUI-64||||{at}||ORU^R01^ORU_R01|{escape_hl7(control_id)}|T|2.6|||NE|AL"
            f"|||||{_PCD01_PROFILE}",
            f"PID|||{escape_hl7(self.patient_id)}^^^Bedside^PI||Simulated^Patient",
            f"OBR|1|{placer}|{placer}|{_MDS}|||{at}",
        ]
        oximeter_ok = snapshot.oximeter_quality is Quality.VALID
        spo2, pr, pi, hr = snapshot.spo2, snapshot.pulse_rate, snapshot.perfusion_index, snapshot.heart_rate
        vitals = [
            _VitalRow("150456^MDC_PULS_OXIM_SAT_O2^MDC", "1.1.1.1", spo2, 0, _PERCENT, at, oximeter_ok),
            _VitalRow("149530^MDC_PULS_OXIM_PULS_RATE^MDC", "1.1.1.2", pr, 0, _PER_MIN, at, oximeter_ok),
        ]
        if pi is not None:
            vitals.append(
                _VitalRow("150448^MDC_PULS_OXIM_PERF_REL^MDC", "1.1.1.3", pi, 2, _PERCENT, at, oximeter_ok)
            )
        if hr is not None:
            vitals.append(_VitalRow("147842^MDC_ECG_HEART_RATE^MDC", "1.2.1.1", hr, 0, _PER_MIN, at, True))
        rows: list[str] = [f"|{_MDS}|1.0.0.0|||||||X|||||||{self.equipment_id}"]
        rows.extend(v.obx() for v in vitals)
        nibp = snapshot.nibp
        if nibp is not None:
            cuff_ok = not nibp.error
            status = "R" if cuff_ok else "X"
            rows.append(f"|{_NIBP_COMPOUND}|1.3.1.0|||||||{status}|||{self._dtm(nibp.measured_at)}")
            rows.extend(
                _VitalRow(code, sub_id, value, 0, _MMHG, "", cuff_ok).obx()
                for code, sub_id, value in (
                    ("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "1.3.1.1", nibp.systolic),
                    ("150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "1.3.1.2", nibp.diastolic),
                    ("150023^MDC_PRESS_BLD_NONINV_MEAN^MDC", "1.3.1.3", nibp.mean),
                )
            )
        segments.extend(f"OBX|{n}|{row}".rstrip("|") for n, row in enumerate(rows, start=1))
        return frame(("\r".join(segments) + "\r").encode("utf-8"))

    def _control_id(self, sequence: int) -> str:
        return f"{self.control_id_prefix}{sequence:08d}"

    def _dtm(self, at: datetime) -> str:
        return at.astimezone(self.device_tz).strftime("%Y%m%d%H%M%S%z")


class _VitalRow(NamedTuple):
    """One vital's OBX: code (OBX-3), place in the tree (OBX-4), value, and whether it is usable."""

    code: str
    sub_id: str
    value: float | None
    decimals: int
    unit: str
    at: str  # OBX-14; "" to inherit the parent row's time
    ok: bool

    def obx(self) -> str:
        """OBX-2 onwards: NM with the value and status R, or status X with no value."""
        if self.value is None or not self.ok:
            return f"NM|{self.code}|{self.sub_id}||{self.unit}|||||X|||{self.at}"
        value = _number(self.value, self.decimals)
        return f"NM|{self.code}|{self.sub_id}|{value}|{self.unit}|||||R|||{self.at}"
