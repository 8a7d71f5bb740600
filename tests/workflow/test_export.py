"""Session export (EXP-1): CSV, JSON round trip, PDF, FHIR, file modes, the command line."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import load_config
from bedside.cli.main import main
from bedside.workflow import ExportFormat, ExportProgress, SessionNotFoundError, export_session
from bedside.workflow.export import import_session_json, render_record
from bedside.workflow.export_json import RecordImportError, record_from_json, record_to_json
from bedside.workflow.export_plots import segments
from drivers.mdc import VITAL_CODES, CodeSystem
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from storage import Database, SessionRepository, open_database
from storage.clinical_record import (
    ClinicalRecordRepository,
    Debrief,
    IncidentAmendment,
    IncidentClosure,
    PatientTold,
    Review,
)
from storage.full_record import (
    FullSessionRecord,
    IncidentDocumentation,
    IncidentLinkEntry,
    IncidentOriginEntry,
    MarkerRecord,
    MedicationRecord,
    read_full_record,
    write_full_record,
)
from storage.records import (
    AlarmEventRecord,
    BaselineOverride,
    BaselineRecord,
    MonitoringGapRecord,
    NoteRecord,
    SessionSummary,
)
from tests.workflow.sample_session import START, sample_record


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'bedside.sqlite3'}")
    yield database
    database.close()


@pytest.fixture
def stored(db: Database) -> FullSessionRecord:
    record = sample_record(hours=0.75)
    write_full_record(db, record)
    return record


def _export(db: Database, record: FullSessionRecord, fmt: str, tmp_path: Path) -> Path:
    return export_session(SessionRepository(db), record.session.session_id, fmt, tmp_path / f"out.{fmt}")


@pytest.mark.req("EXP-1")
def test_csv_has_one_row_per_observation_with_time_kind_value_unit_quality_source(
    db: Database, stored: FullSessionRecord, tmp_path: Path
) -> None:
    """EXP-1: vitals as CSV, one row per observation; a value the device did not send is empty, not 0."""
    rows = list(csv.reader(io.StringIO(_export(db, stored, "csv", tmp_path).read_text())))
    assert rows[0] == ["time_utc", "kind", "value", "unit", "quality", "source"]
    assert len(rows) - 1 == len(stored.observations)
    for row, obs in zip(rows[1:], stored.observations, strict=True):
        assert datetime.fromisoformat(row[0]) == obs.measured_at.replace(
            microsecond=obs.measured_at.microsecond // 1000 * 1000
        )
        assert row[0].endswith("+00:00")
        assert row[1:] == [
            obs.kind.value,
            "" if obs.value is None else repr(obs.value),
            obs.unit,
            obs.quality.value,
            obs.source,
        ]
    assert any(r[4] == "probe_off" and r[2] == "" for r in rows[1:])


# -- JSON: export -> import -> export is byte-identical ------------------------------------------

_times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
_value = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64))


@st.composite
def _observations(draw: st.DrawFn) -> Observation:
    kind = draw(st.sampled_from(list(VitalKind)))
    measured = draw(_times)
    return Observation(
        kind=kind,
        value=draw(_value),
        unit=CANONICAL_UNIT[kind],
        measured_at=measured,
        received_at=measured + timedelta(milliseconds=draw(st.integers(-5000, 5000))),
        received_mono=draw(st.floats(0, 1e7, allow_nan=False)),
        source=draw(st.sampled_from(["masimo-1", "nonin-1", "suntech-1", "hl7 pcd-01"])),
        quality=draw(st.sampled_from(list(Quality))),
        detail=draw(_text),
        simulated=draw(st.booleans()),
    )


@st.composite
def _records(draw: st.DrawFn) -> FullSessionRecord:
    base = sample_record(hours=0.1, drill=draw(st.booleans()))
    sid = base.session.session_id
    observations = sorted(draw(st.lists(_observations(), max_size=40)), key=lambda o: o.measured_at)
    session = SessionSummary(
        sid,
        draw(_times),
        draw(_text),
        base.session.is_drill,
        draw(st.sampled_from(["setup", "baseline", "infusion", "recovery", "discharged"])),
        draw(_text),
        draw(_text),
        draw(_text),
        draw(st.one_of(st.none(), _times)),
        draw(_text),
        draw(st.sampled_from(["", "patient-0001", "patient-0002"])),
    )
    notes = tuple(
        sorted(
            (
                NoteRecord(sid, at, who, text)
                for at, who, text in draw(st.lists(st.tuples(_times, _text, _text), max_size=6))
            ),
            key=lambda n: n.at,
        )
    )
    alarms = tuple(
        sorted(
            (
                AlarmEventRecord(sid, kind, cond, prio, at, person, msg)
                for kind, cond, prio, at, person, msg in draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(["started", "ended", "acknowledged", "paused"]),
                            st.sampled_from(["spo2_low", "bp_high", "no_valid_spo2"]),
                            st.sampled_from(["high", "medium", "low"]),
                            _times,
                            _text,
                            _text,
                        ),
                        max_size=6,
                    )
                )
            ),
            key=lambda a: a.at,
        )
    )
    baselines = (
        BaselineRecord(
            sid,
            draw(_value),
            draw(_value),
            draw(_value),
            draw(_value),
            draw(_value),
            draw(_text),
            draw(_times),
            tuple(
                BaselineOverride(f, c, v, r)
                for f, c, v, r in draw(
                    st.lists(
                        st.tuples(st.sampled_from(["systolic", "spo2"]), _value, st.floats(0, 300), _text),
                        max_size=2,
                    )
                )
            ),
        ),
    )
    gaps = tuple(
        sorted(
            (
                MonitoringGapRecord(sid, a, a + timedelta(seconds=d), stn, det)
                for a, d, stn, det in draw(
                    st.lists(st.tuples(_times, st.integers(1, 10_000), _text, _text), max_size=3)
                )
            ),
            key=lambda g: g.since,
        )
    )
    markers = tuple(
        sorted(
            (
                MarkerRecord(at, rec, who, stn, label, note)
                for at, rec, who, stn, label, note in draw(
                    st.lists(st.tuples(_times, _times, _text, _text, _text, _text), max_size=4)
                )
            ),
            key=lambda m: m.at,
        )
    )
    medications = tuple(
        sorted(
            (
                MedicationRecord(at, rec, who, "room-2", drug, dose, unit, route, note)
                for at, rec, who, drug, dose, unit, route, note in draw(
                    st.lists(
                        st.tuples(
                            _times,
                            _times,
                            _text,
                            _text,
                            st.floats(0, 1e4, allow_nan=False),
                            st.sampled_from(["mg", "mcg", "mL"]),
                            st.sampled_from(["IV", "PO", "IM"]),
                            _text,
                        ),
                        max_size=4,
                    )
                )
            ),
            key=lambda m: m.given_at,
        )
    )
    lists = {"alarm": alarms, "note": notes, "marker": markers, "medication": medications}
    documentation = tuple(_documentation(draw, incident.incident_id, lists) for incident in base.incidents)
    return FullSessionRecord(
        session=session,
        observations=tuple(observations),
        device_events=base.device_events,
        phase_transitions=base.phase_transitions,
        baselines=baselines,
        threshold_sets=base.threshold_sets,
        threshold_changes=base.threshold_changes,
        nibp_interval_changes=base.nibp_interval_changes,
        alarm_events=alarms,
        incidents=base.incidents,
        protocol_runs=base.protocol_runs,
        notes=notes,
        attestations=base.attestations,
        monitoring_gaps=gaps,
        markers=markers,
        medications=medications,
        incident_documentation=documentation,
    )


def _documentation(
    draw: st.DrawFn, incident_id: str, lists: dict[str, tuple[object, ...]]
) -> IncidentDocumentation:
    """One incident's documentation (DOC-2..4) whose links point only at items the record holds."""
    kinds = [k for k, items in lists.items() if items]
    links: list[IncidentLinkEntry] = []
    for _ in range(draw(st.integers(0, 4)) if kinds else 0):
        kind = draw(st.sampled_from(kinds))
        links.append(
            IncidentLinkEntry(kind, draw(st.integers(0, len(lists[kind]) - 1)), draw(_times), draw(_text))
        )
    alarm_item = (
        draw(st.one_of(st.none(), st.integers(0, len(lists["alarm"]) - 1))) if lists["alarm"] else None
    )
    origin = draw(
        st.one_of(
            st.none(),
            st.just(IncidentOriginEntry("alarm" if alarm_item is not None else "hand", "room-2", alarm_item)),
        )
    )
    closure = draw(
        st.one_of(
            st.none(),
            st.builds(
                IncidentClosure,
                _times,
                _text,
                _text,
                st.sampled_from(["resolved_in_clinic", "transferred_911", "other"]),
                _text,
            ),
        )
    )
    return IncidentDocumentation(
        incident_id=incident_id,
        origin=origin,
        links=tuple(links),
        closure=closure,
        amendments=tuple(
            draw(st.lists(st.builds(IncidentAmendment, _times, _text, _text, _text), max_size=2))
        ),
        debriefs=tuple(
            draw(
                st.lists(
                    st.builds(
                        Debrief,
                        _times,
                        _text,
                        _text,
                        _text,
                        _text,
                        _text,
                        _text,
                        st.sampled_from(["yes", "no", "partly"]),
                        st.lists(st.sampled_from(["death", "other_serious"]), max_size=2).map(tuple),
                        _text,
                    ),
                    max_size=2,
                )
            )
        ),
        reviews=tuple(
            draw(
                st.lists(
                    st.builds(
                        Review, _times, _text, _text, _text, _text, _text, _text, st.booleans(), _text, _text
                    ),
                    max_size=2,
                )
            )
        ),
        patient_told=tuple(
            draw(
                st.lists(
                    st.builds(PatientTold, _text, _text, _text, _text, _times, _text, _times, _text),
                    max_size=2,
                )
            )
        ),
    )


def _another_session(drill: bool) -> FullSessionRecord:
    """A session with alarms, notes, markers and medications but no incidents (their ids are fixed)."""
    other = sample_record(hours=0.05, drill=drill, session_id="another-session")
    return replace(
        other,
        threshold_sets=(),
        threshold_changes=(),
        incidents=(),
        protocol_runs=(),
        incident_documentation=(),
    )


@pytest.mark.req("EXP-1")
@pytest.mark.req("DOC-1")
@pytest.mark.req("DOC-2")
@pytest.mark.req("DOC-3")
@pytest.mark.req("DOC-4")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(record=_records())
def test_json_export_reimports_into_an_empty_database_to_an_identical_record(
    record: FullSessionRecord, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """EXP-1, DOC-1..4: the full record as JSON re-imports to an identical record: export -> import ->
    export gives the same bytes, over generated sessions (nulls, every quality, odd text, drills),
    event markers, medications and incident documentation with links pointing across the record."""
    tmp = tmp_path_factory.mktemp("roundtrip")
    first = open_database(f"sqlite:///{tmp / 'a.sqlite3'}", drill=record.session.is_drill)
    second = open_database(f"sqlite:///{tmp / 'b.sqlite3'}", drill=record.session.is_drill)
    try:
        # Another session already in the target: every row id of the import differs from the source's.
        write_full_record(second, _another_session(record.session.is_drill))
        write_full_record(first, record)
        sid = record.session.session_id
        exported = export_session(SessionRepository(first), sid, "json", tmp / "a.json").read_bytes()
        imported = import_session_json(second, exported)
        again = export_session(SessionRepository(second), sid, "json", tmp / "b.json").read_bytes()
        assert again == exported
        assert read_full_record(SessionRepository(second), sid) == read_full_record(
            SessionRepository(first), sid
        )
        assert imported == record_from_json(exported)
        # The export's light read gives exactly what the repository's ORM read gives.
        light = list(read_full_record(SessionRepository(second), sid).observations)
        assert light == SessionRepository(second).observations(sid)
    finally:
        first.close()
        second.close()


@pytest.mark.req("EXP-1")
@settings(max_examples=15, deadline=None)
@given(record=_records(), fmt=st.sampled_from([f for f in ExportFormat if f is not ExportFormat.JSON]))
def test_every_format_renders_any_session(record: FullSessionRecord, fmt: ExportFormat) -> None:
    """EXP-1: whatever a session holds (nulls, invalid values, odd text, open or ended, no data),
    CSV, PDF and FHIR render it; FHIR stays valid by the R4 models."""
    data = render_record(record, fmt, config=load_config(), zone=UTC)
    if fmt is ExportFormat.PDF:
        assert data.startswith(b"%PDF")
    if fmt is ExportFormat.FHIR:
        Bundle.model_validate_json(data)
    if fmt is ExportFormat.CSV:
        assert len(data.decode().splitlines()) >= 1


@pytest.mark.req("EXP-1")
def test_an_empty_open_session_exports_in_every_format(db: Database, tmp_path: Path) -> None:
    """EXP-1: a session just started (no vitals, no thresholds, not ended) still exports."""
    summary = SessionRepository(db).create_session(clinician="Dr. Rivera", started_at=START)
    for fmt in ExportFormat:
        path = export_session(SessionRepository(db), summary.session_id, fmt, tmp_path / f"empty.{fmt.value}")
        assert path.stat().st_size > 0


@pytest.mark.req("EXP-1")
def test_a_version_2_export_reads_as_version_3_without_patient_link_or_simulation_flags(
    stored: FullSessionRecord,
) -> None:
    """EXP-1: version 3 added Session.patient_id and Observation.simulated; a version 2 file (without
    them) still imports, as no patient record and no simulated value; a missing required field is
    still refused."""
    document = json.loads(record_to_json(stored))
    document["schema_version"] = 2
    del document["session"]["patient_id"]
    for obs in document["observations"]:
        del obs["simulated"]
    back = record_from_json(json.dumps(document))
    assert back.session.patient_id == ""
    assert back.observations and not any(o.simulated for o in back.observations)
    del document["observations"][0]["value"]
    with pytest.raises(RecordImportError, match="missing field"):
        record_from_json(json.dumps(document))


@pytest.mark.req("EXP-1")
def test_json_carries_its_schema_version_and_refuses_another(stored: FullSessionRecord) -> None:
    """EXP-1: the JSON is versioned; an importer never guesses at a version it does not know."""
    document = json.loads(record_to_json(stored))
    assert document["schema"] == "bedside.session-record"
    assert document["schema_version"] == 3
    document["schema_version"] = 4
    with pytest.raises(RecordImportError, match="schema_version 4"):
        record_from_json(json.dumps(document))
    document["schema_version"] = 3
    document["notes"][0]["mood"] = "fine"
    with pytest.raises(RecordImportError, match="unknown field"):
        record_from_json(json.dumps(document))


@pytest.mark.req("EXP-1")
@pytest.mark.req("DOC-1")
@pytest.mark.req("DOC-2")
@pytest.mark.req("DOC-3")
@pytest.mark.req("DOC-4")
def test_exports_carry_markers_medications_closings_debriefs_reviews_and_what_the_patient_was_told(
    db: Database, tmp_path: Path
) -> None:
    """EXP-1, DOC-1..4: what the clinician documents through the clinical record (markers, medications,
    an incident's closing with its outcome, debrief, formal review, what the patient was told, links)
    reaches the JSON (and back), the PDF and, for medications, the FHIR bundle."""
    sample = sample_record(hours=0.75)
    open_incident = replace(sample.incidents[0], closed_at=None, closed_by="")
    base = replace(sample, incidents=(open_incident,), incident_documentation=(), markers=(), medications=())
    write_full_record(db, base)
    sid, iid = base.session.session_id, base.incidents[0].incident_id
    clinical = ClinicalRecordRepository(db)
    at = START + timedelta(minutes=30)
    marker = clinical.add_marker(
        sid, at=at, recorded_at=at, who="RN Okafor", station="room-2", label="jaw thrust", note="brief"
    )
    clinical.add_medication(
        sid,
        given_at=at,
        recorded_at=at,
        who="Dr. Rivera",
        station="room-2",
        drug="midazolam",
        dose=2.0,
        unit="mg",
        route="IV",
        note="",
    )
    clinical.add_link(iid, kind="marker", ref=str(marker.marker_id), at=at, who="Dr. Rivera")
    clinical.close_incident(
        iid,
        at=at,
        who="Dr. Rivera",
        station="room-2",
        outcome="transferred_911",
        outcome_text="EMS took over",
    )
    clinical.add_debrief(
        iid,
        Debrief(
            at,
            "Dr. Rivera",
            "room-2",
            "desaturation",
            "jaw thrust",
            "fast",
            "suction",
            "partly",
            ("other_serious",),
        ),
    )
    clinical.add_review(
        iid,
        Review(
            at,
            "Dr. Lee",
            "room-2",
            "bp-spike",
            "1.2",
            "sha256:ab",
            "partly",
            True,
            "late call",
            "call at 3 min",
        ),
    )
    clinical.add_patient_told(
        iid,
        PatientTold(
            "oxygen fell",
            "we helped you breathe",
            "no lasting harm",
            "Dr. Rivera",
            at,
            "Dr. Rivera",
            at,
            "room-2",
        ),
    )
    record = read_full_record(SessionRepository(db), sid)
    assert [m.label for m in record.markers] == ["jaw thrust"]
    assert [m.drug for m in record.medications] == ["midazolam"]
    (doc,) = record.incident_documentation
    assert doc.closure is not None and doc.closure.outcome == "transferred_911"
    assert [(link.kind, link.item) for link in doc.links] == [("marker", 0)]
    assert len(doc.debriefs) == len(doc.reviews) == len(doc.patient_told) == 1
    assert record_from_json(record_to_json(record)) == record

    text = "\n".join(_pages_text(_export(db, record, "pdf", tmp_path)))
    for expected in (
        "Event markers",
        "jaw thrust",
        "midazolam",
        "transferred 911: EMS took over",
        "Debrief",
        "Formal review",
        "call at 3 min",
        "What the patient was told",
        "we helped you breathe",
    ):
        assert expected in text, expected
    bundle = Bundle.model_validate_json(_export(db, record, "fhir", tmp_path).read_text())
    (given,) = [
        e.resource for e in bundle.entry if e.resource.get_resource_type() == "MedicationAdministration"
    ]
    assert given.medicationCodeableConcept.text == "midazolam"
    assert given.dosage.dose.value == 2.0 and given.dosage.route.text == "IV"


@pytest.mark.req("EXP-1")
def test_a_version_1_export_still_imports_with_none_of_version_2s_parts(db: Database) -> None:
    """EXP-1: a version 1 document (before markers, medications and incident documentation) reads back."""
    document = json.loads(record_to_json(sample_record(hours=0.2)))
    for name in ("markers", "medications", "incident_documentation"):
        del document[name]
    document["schema_version"] = 1
    record = record_from_json(json.dumps(document))
    assert record.markers == record.medications == record.incident_documentation == ()
    document["markers"] = []
    with pytest.raises(RecordImportError, match="not part of schema_version 1"):
        record_from_json(json.dumps(document))


# -- FHIR --------------------------------------------------------------------------------------


def _codings(code: dict[str, object]) -> dict[str, str]:
    return {c["system"]: c["code"] for c in code["coding"]}  # type: ignore[index,attr-defined]


@pytest.mark.req("EXP-1")
def test_fhir_bundle_validates_against_r4_models_with_loinc_and_mdc_codes(
    db: Database, stored: FullSessionRecord, tmp_path: Path
) -> None:
    """EXP-1: an HL7 FHIR Bundle of Observations, LOINC- and MDC-coded, valid by the library's models;
    only valid values go (an EHR takes every entry as a measured fact)."""
    out = tmp_path / "every.json"
    text = export_session(
        SessionRepository(db), stored.session.session_id, "fhir", out, fhir_interval_s=0
    ).read_text()
    bundle = Bundle.model_validate_json(text)
    assert bundle.type == "collection"
    resources = [
        json.loads(e.resource.model_dump_json())
        for e in bundle.entry
        if e.resource.get_resource_type() == "Observation"
    ]
    by_loinc: dict[str, list[dict[str, object]]] = {}
    for r in resources:
        by_loinc.setdefault(_codings(r["code"])["http://loinc.org"], []).append(r)
    loinc, mdc = "http://loinc.org", "urn:iso:std:iso:11073:10101"
    assert _codings(by_loinc["59408-5"][0]["code"])[mdc] == "150456"  # type: ignore[arg-type]
    assert _codings(by_loinc["8889-8"][0]["code"])[mdc] == "149530"  # type: ignore[arg-type]
    valid = [o for o in stored.observations if o.is_valid]
    assert len(by_loinc["59408-5"]) == sum(1 for o in valid if o.kind is VitalKind.SPO2)
    panels = by_loinc["85354-9"]
    valid_cycles = {o.measured_at for o in valid if o.kind is VitalKind.NIBP_SYSTOLIC}
    assert len(panels) == len(valid_cycles)
    components = {_codings(c["code"])[loinc]: _codings(c["code"])[mdc] for c in panels[0]["component"]}  # type: ignore[union-attr,index]
    assert components == {"8480-6": "150021", "8462-4": "150022", "8478-0": "150023"}
    # The codes are drivers.mdc's, the one table of the vitals' nomenclature.
    for lc, mc in components.items():
        assert VITAL_CODES[(CodeSystem.LOINC, lc)].kind is VITAL_CODES[(CodeSystem.MDC, mc)].kind
    assert all(r["category"][0]["coding"][0]["code"] == "vital-signs" for r in resources)  # type: ignore[index]
    assert "meta" not in json.loads(text)


@pytest.mark.req("EXP-1")
def test_fhir_bundle_charts_one_real_sample_per_minute_and_every_nibp_cycle(
    db: Database, stored: FullSessionRecord, tmp_path: Path
) -> None:
    """EXP-1: by default the bundle charts the first valid value of each device and vital per minute
    (a measured sample, never an average), and every valid NIBP cycle; nothing invalid goes."""
    document = json.loads(_export(db, stored, "fhir", tmp_path).read_text())
    Bundle.model_validate(document)
    measured = {
        (o.kind, o.measured_at.replace(microsecond=0), o.value) for o in stored.observations if o.is_valid
    }
    seen: dict[tuple[str, datetime], int] = {}
    panels = 0
    for entry in document["entry"]:
        r = entry["resource"]
        if r["resourceType"] != "Observation":  # medications given: MedicationAdministration
            continue
        at = datetime.fromisoformat(r["effectiveDateTime"].replace("Z", "+00:00"))
        loinc = _codings(r["code"])["http://loinc.org"]
        if loinc == "85354-9":
            panels += 1
            continue
        kind = VITAL_CODES[(CodeSystem.LOINC, loinc)].kind
        assert (kind, at.replace(microsecond=0), r["valueQuantity"]["value"]) in measured
        key = (loinc, at.replace(second=0, microsecond=0))
        seen[key] = seen.get(key, 0) + 1
    assert set(seen.values()) == {1}
    minutes_with_spo2 = {
        o.measured_at.replace(second=0, microsecond=0)
        for o in stored.observations
        if o.is_valid and o.kind is VitalKind.SPO2
    }
    assert {m for (code, m) in seen if code == "59408-5"} == minutes_with_spo2
    assert panels == len(
        {o.measured_at for o in stored.observations if o.is_valid and o.kind is VitalKind.NIBP_SYSTOLIC}
    )


@pytest.mark.req("EXP-1")
@pytest.mark.req("DRL-2")
def test_fhir_bundle_of_a_drill_is_labelled_test_data(tmp_path: Path) -> None:
    """DRL-2/EXP-1: a drill's bundle and each observation carry the HTEST security label."""
    drills = open_database(f"sqlite:///{tmp_path / 'drills.sqlite3'}", drill=True)
    try:
        record = sample_record(hours=0.2, drill=True)
        write_full_record(drills, record)
        text = export_session(
            SessionRepository(drills), record.session.session_id, "fhir", tmp_path / "d.json"
        ).read_text()
    finally:
        drills.close()
    document = json.loads(text)
    assert document["meta"]["security"][0]["code"] == "HTEST"
    assert all(e["resource"]["meta"]["security"][0]["code"] == "HTEST" for e in document["entry"])


# -- PDF ---------------------------------------------------------------------------------------


def _pages_text(pdf: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [page for page in text.split("\f") if page.strip()]


@pytest.mark.req("DRL-2")
@pytest.mark.req("EXP-1")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_drill_pdf_says_drill_on_every_page_and_a_patient_pdf_never(tmp_path: Path) -> None:
    """DRL-2: every drill export says DRILL on every page; a patient's record never does."""
    drills = open_database(f"sqlite:///{tmp_path / 'drills.sqlite3'}", drill=True)
    patients = open_database(f"sqlite:///{tmp_path / 'patients.sqlite3'}")
    try:
        drill, patient = sample_record(hours=1.0, drill=True), sample_record(hours=1.0)
        write_full_record(drills, drill)
        write_full_record(patients, patient)
        drill_pdf = export_session(
            SessionRepository(drills), drill.session.session_id, "pdf", tmp_path / "d.pdf"
        )
        patient_pdf = export_session(
            SessionRepository(patients), patient.session.session_id, "pdf", tmp_path / "p.pdf"
        )
    finally:
        drills.close()
        patients.close()
    drill_pages = _pages_text(drill_pdf)
    assert len(drill_pages) >= 3
    assert all("DRILL" in page for page in drill_pages)
    patient_pages = _pages_text(patient_pdf)
    assert not any("DRILL" in page for page in patient_pages)
    text = "\n".join(patient_pages)
    for expected in (
        "Trends",
        "Alarms",
        "Incidents",
        "Medications given",
        "labetalol",
        "Protocol runs",
        "Notes",
        "BP trend",
    ):
        assert expected in text


@pytest.mark.req("EXP-1")
def test_plotted_lines_break_at_invalid_values_and_at_silences_longer_than_stale_after() -> None:
    """EXP-1: gaps are gaps: a line never bridges a probe-off or a silence beyond stale_after_s."""
    stale = load_config().monitoring.stale_after_s

    def obs(offset_s: float, quality: Quality = Quality.VALID) -> Observation:
        at = START + timedelta(seconds=offset_s)
        return Observation(VitalKind.SPO2, 97.0, "%", at, at, offset_s, "m", quality)

    series = [obs(0), obs(1), obs(2, Quality.PROBE_OFF), obs(3), obs(3 + stale), obs(4 + 2 * stale)]
    runs = segments(series, VitalKind.SPO2, stale)
    assert [[o.measured_at for o in run] for run in runs] == [
        [series[0].measured_at, series[1].measured_at],
        [series[3].measured_at, series[4].measured_at],
        [series[5].measured_at],
    ]


# -- files and the command line -----------------------------------------------------------------


@pytest.mark.req("EXP-1")
@pytest.mark.parametrize("fmt", [f.value for f in ExportFormat])
def test_every_export_is_readable_by_its_owner_only(
    db: Database, stored: FullSessionRecord, tmp_path: Path, fmt: str
) -> None:
    """EXP-1: exports are health records: mode 0600 even with a lax umask and over a 0644 file."""
    out = tmp_path / f"out.{fmt}"
    out.write_text("old")
    out.chmod(0o644)
    old = os.umask(0)
    try:
        path = export_session(SessionRepository(db), stored.session.session_id, fmt, out)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() != b"old"
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.req("EXP-1")
def test_progress_is_reported_from_start_to_done(
    db: Database, stored: FullSessionRecord, tmp_path: Path
) -> None:
    """EXP-1: the service reports progress for the app's bar, ending at 100 %."""
    seen: list[ExportProgress] = []
    export_session(
        SessionRepository(db), stored.session.session_id, "csv", tmp_path / "x.csv", progress=seen.append
    )
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0


def test_unknown_session_is_a_clear_error(db: Database, tmp_path: Path) -> None:
    """An unknown id is SessionNotFoundError naming it, and no file is left behind."""
    with pytest.raises(SessionNotFoundError, match="no-such-id"):
        export_session(SessionRepository(db), "no-such-id", "pdf", tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.req("EXP-1")
def test_cli_exports_and_an_invalid_session_is_one_sentence_and_exit_2(
    db: Database, stored: FullSessionRecord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """EXP-1: `bedside export`: 0 and the path when written; a wrong id is one sentence, exit 2."""
    url = str(db.engine.url)
    out = tmp_path / "cli.csv"
    assert main(["export", stored.session.session_id, "--format", "csv", "--out", str(out), "--db", url]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert main(["export", "not-a-session", "--format", "pdf", "--db", url]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not-a-session" in err and "Traceback" not in err
    drills = open_database(f"sqlite:///{tmp_path / 'drills.sqlite3'}", drill=True)
    drill = sample_record(hours=0.1, drill=True, session_id="drill-session-1")
    write_full_record(drills, drill)
    drills.close()
    drill_url = f"sqlite:///{tmp_path / 'drills.sqlite3'}"
    # --db names the database: a drill database is read as one without --drill.
    assert (
        main(
            [
                "export",
                "drill-session-1",
                "--format",
                "pdf",
                "--out",
                str(tmp_path / "d.pdf"),
                "--db",
                drill_url,
            ]
        )
        == 0
    )
    capsys.readouterr()
    missing = tmp_path / "nowhere.sqlite3"
    assert main(["export", "x", "--format", "json", "--db", f"sqlite:///{missing}"]) == 2
    assert "no database" in capsys.readouterr().err
    assert not missing.exists()
