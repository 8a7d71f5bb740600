"""The session's vitals as an HL7 FHIR R4 Bundle of Observations for an EHR (EXP-1).

Built and validated with the ``fhir.resources`` models (its R4B package: FHIR 4.3, whose Bundle and
Observation are the R4 resources unchanged for everything used here). Each observation is coded
with LOINC and IEEE 11073 MDC; the codes come from ``drivers.mdc``'s table, the one home of the
vitals' nomenclature. An NIBP cycle is one blood-pressure panel (LOINC 85354-9) with systolic,
diastolic and mean components. Only values the device vouched for (quality "valid", a number) are
sent: an EHR would take anything in the bundle as a measured fact. A drill's bundle carries the
security label HTEST (test health data) on the bundle and on every observation.

SpO2 and rates arrive every second; an EHR charts vitals per minute or so (and validating 60 k
resources takes a minute). So by default one value per device and vital per ``interval_s`` goes:
the first valid value measured in each interval, a real sample, never an average. Every NIBP
cycle goes. ``interval_s=0`` sends every valid value.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from alarms import NibpAssembler
from drivers.mdc import VITAL_CODES, CodeSystem, VitalCode
from drivers.types import Observation, VitalKind
from storage.full_record import FullSessionRecord, MedicationRecord

log = logging.getLogger(__name__)

LOINC_SYSTEM = "http://loinc.org"
MDC_SYSTEM = "urn:iso:std:iso:11073:10101"
UCUM_SYSTEM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#: LOINC "Blood pressure panel with all children optional"; MDC_PRESS_BLD_NONINV (2 * 65536 + 18948).
BP_PANEL_LOINC = ("85354-9", "Blood pressure panel with all children optional")
BP_PANEL_MDC = ("150020", "MDC_PRESS_BLD_NONINV")
#: The kinds sent as single observations; NIBP goes as a panel, perfusion index has no LOINC code.
SINGLE_KINDS = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE)
PANEL_KINDS = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
#: Default charting interval of the bundle's SpO2 and rate observations (seconds; 0: every value).
DEFAULT_INTERVAL_S = 60.0
#: Fixed namespace so the same observation always gets the same resource id (re-sends are idempotent).
_ID_NAMESPACE = uuid.UUID("0d8c5a3e-8f0e-4d55-9a53-6f6b0c7e2b11")


def codes_for(kind: VitalKind) -> tuple[VitalCode, VitalCode]:
    """The (LOINC, MDC) codes of a vital, the first of each system in ``drivers.mdc``'s table."""
    loinc = next(c for c in VITAL_CODES.values() if c.kind is kind and c.system is CodeSystem.LOINC)
    mdc = next(c for c in VITAL_CODES.values() if c.kind is kind and c.system is CodeSystem.MDC)
    return loinc, mdc


def _code(kind: VitalKind) -> dict[str, Any]:
    loinc, mdc = codes_for(kind)
    return {
        "coding": [
            {"system": LOINC_SYSTEM, "code": loinc.code, "display": loinc.reference_id},
            {"system": MDC_SYSTEM, "code": mdc.code, "display": mdc.reference_id},
        ],
        "text": loinc.reference_id,
    }


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM_SYSTEM, "code": unit}


def _time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def _subject(record: FullSessionRecord) -> dict[str, Any]:
    s = record.session
    subject: dict[str, Any] = {"display": s.patient_name or s.patient_mrn or "patient not named"}
    if s.patient_mrn:
        subject["identifier"] = {"value": s.patient_mrn}
    return subject


def _observation(
    record: FullSessionRecord, key: str, at: datetime, source: str, code: dict[str, Any]
) -> dict[str, Any]:
    resource_id = str(uuid.uuid5(_ID_NAMESPACE, f"{record.session.session_id}|{key}|{_time(at)}|{source}"))
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final",
        "category": [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": "vital-signs", "display": "Vital Signs"}]}
        ],
        "code": code,
        "subject": _subject(record),
        "effectiveDateTime": _time(at),
        "device": {"display": source},
    }
    if record.session.is_drill:
        resource["meta"] = {"security": [_drill_label()]}
    return resource


def _drill_label() -> dict[str, str]:
    return {"system": ACT_REASON_SYSTEM, "code": "HTEST", "display": "test health data"}


def _single(record: FullSessionRecord, obs: Observation) -> dict[str, Any]:
    resource = _observation(record, obs.kind.value, obs.measured_at, obs.source, _code(obs.kind))
    assert obs.value is not None  # only valid observations come here
    resource["valueQuantity"] = _quantity(obs.value, obs.unit)
    return resource


def _panel(record: FullSessionRecord, parts: dict[VitalKind, Observation]) -> dict[str, Any]:
    first = parts[VitalKind.NIBP_SYSTOLIC]
    code = {
        "coding": [
            {"system": LOINC_SYSTEM, "code": BP_PANEL_LOINC[0], "display": BP_PANEL_LOINC[1]},
            {"system": MDC_SYSTEM, "code": BP_PANEL_MDC[0], "display": BP_PANEL_MDC[1]},
        ],
        "text": "Blood pressure (NIBP)",
    }
    resource = _observation(record, "nibp", first.measured_at, first.source, code)
    resource["component"] = [
        {"code": _code(kind), "valueQuantity": _quantity(obs.value, obs.unit)}
        for kind, obs in sorted(parts.items(), key=lambda item: PANEL_KINDS.index(item[0]))
        if obs.value is not None
    ]
    return resource


def _nibp_panels(record: FullSessionRecord) -> list[dict[str, Any]]:
    # One rule, one home: the engine's assembler decides which observations make one NIBP cycle.
    assembler = NibpAssembler()
    readings = assembler.add_all(record.observations) + assembler.flush()
    parts_of: dict[tuple[str, datetime], dict[VitalKind, Observation]] = {}
    for obs in record.observations:
        if obs.kind.is_nibp:
            parts_of.setdefault((obs.source, obs.measured_at), {})[obs.kind] = obs
    panels = []
    for reading in readings:
        if not reading.is_valid:
            continue
        parts = parts_of[(reading.source, reading.measured_at)]
        panels.append(_panel(record, parts))
    return panels


def charted(observations: Iterable[Observation], interval_s: float) -> list[Observation]:
    """The first valid SpO2/rate value of each device and vital in each ``interval_s`` (0: all)."""
    last: dict[tuple[VitalKind, str], int] = {}
    out = []
    for obs in observations:
        if obs.kind not in SINGLE_KINDS or not obs.is_valid:
            continue
        if interval_s > 0:
            bucket = math.floor(obs.measured_at.timestamp() / interval_s)
            key = (obs.kind, obs.source)
            if last.get(key) == bucket:
                continue
            last[key] = bucket
        out.append(obs)
    return out


def _words(text: str) -> str:
    # FHIR strings may not be empty or hold only control characters: whitespace runs become one space.
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _medication_administration(record: FullSessionRecord, n: int, med: MedicationRecord) -> dict[str, Any]:
    """A medication the clinician entered (DOC-1) as a MedicationAdministration: drug, dose, route
    and who gave it as free text, since Bedside keeps no drug or route code list (RxNorm, SNOMED)."""
    dose: dict[str, Any] = {"value": med.dose}
    unit = _words(med.unit)
    if unit:
        dose.update(unit=unit, system=UCUM_SYSTEM, code=unit)
    dosage: dict[str, Any] = {"dose": dose}
    if _words(med.route):
        dosage["route"] = {"text": _words(med.route)}
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": str(uuid.uuid5(_ID_NAMESPACE, f"{record.session.session_id}|medication|{n}")),
        "status": "completed",
        "medicationCodeableConcept": {"text": _words(med.drug) or "drug not recorded"},
        "subject": _subject(record),
        "effectiveDateTime": _time(med.given_at),
        "dosage": dosage,
    }
    if _words(med.who):
        resource["performer"] = [{"actor": {"display": _words(med.who)}}]
    if _words(med.note):
        resource["note"] = [{"text": _words(med.note)}]
    if record.session.is_drill:
        resource["meta"] = {"security": [_drill_label()]}
    return resource


def session_bundle(record: FullSessionRecord, interval_s: float = DEFAULT_INTERVAL_S) -> Bundle:
    """The session's valid vitals as a FHIR Bundle (type "collection"), validated by the R4 models,
    with the medications the clinician entered as MedicationAdministration resources.

    Event markers, incidents, debriefs, reviews and what the patient was told stay out: they are
    clinic documentation with no R4 resource an EHR would file them under without a local profile
    (the PDF and JSON exports carry them; docs/export-schema.md)."""
    resources = [_single(record, obs) for obs in charted(record.observations, interval_s)]
    resources += _nibp_panels(record)
    resources += [_medication_administration(record, n, m) for n, m in enumerate(record.medications)]
    resources.sort(key=lambda r: (r["effectiveDateTime"], r["id"]))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_ID_NAMESPACE, record.session.session_id)),
        "type": "collection",
        "timestamp": _time(record.session.ended_at or record.session.started_at),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }
    if record.session.is_drill:
        bundle["meta"] = {"security": [_drill_label()]}
    skipped = sum(1 for o in record.observations if not o.is_valid)
    log.info("FHIR bundle: %d observations, %d values not valid left out", len(resources), skipped)
    return Bundle.model_validate(bundle)


def session_bundle_json(record: FullSessionRecord, interval_s: float = DEFAULT_INTERVAL_S) -> str:
    """The bundle as FHIR JSON text."""
    text: str = session_bundle(record, interval_s).model_dump_json(indent=1)
    return text + "\n"
