"""Every alarm that has a written protocol offers it; the names linking them are checked (PRO-8).

Finding 11: SpO2 83 % (HIGH) and pulse 41 offered nothing, because of the names in the library's
``offered_for`` lists only ``spo2_low`` was a condition the engine raises.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import CLINICAL_EVENTS, CONDITIONS, ConditionId
from protocols.errors import ProtocolFileError
from protocols.loader import LIBRARY_DIR, TEMPLATE_WORDS, load_library, load_protocol

pytestmark = pytest.mark.req("PRO-8")

LIBRARY = load_library(LIBRARY_DIR)
FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocols"
BP_SPIKE = (LIBRARY_DIR / "bp-spike.yaml").read_text(encoding="utf-8")
OFFERED_FOR = "offered_for: [bp_high]"

#: The tree each physiological alarm offers from the shipped library (CLINICAL.md PRO-8).
EXPECTED = {
    ConditionId.SPO2_LOW: ("respiratory-depression",),
    ConditionId.PULSE_HIGH: ("cardiac-arrhythmia",),
    ConditionId.PULSE_LOW: ("cardiac-arrhythmia",),
    ConditionId.HR_HIGH: ("cardiac-arrhythmia",),
    ConditionId.HR_LOW: ("cardiac-arrhythmia",),
    ConditionId.PULSE_DEFICIT: ("cardiac-arrhythmia",),
    ConditionId.BP_HIGH: ("bp-spike",),
}


@pytest.mark.parametrize("condition", sorted(EXPECTED), ids=str)
def test_every_physiological_alarm_with_a_tree_offers_it(condition: ConditionId) -> None:
    assert LIBRARY.errors == ()
    assert tuple(p.id for p in LIBRARY.offered_for(condition)) == EXPECTED[condition]
    assert tuple(p.id for p in LIBRARY.offered_for(condition.value)) == EXPECTED[condition]


def test_the_only_physiological_alarm_without_a_tree_is_bp_low() -> None:
    """A hypotension tree is not in the shipped library yet; any other gap is a regression."""
    physiological = {c for c, spec in CONDITIONS.items() if not spec.technical}
    offered = {c for c in physiological if LIBRARY.offered_for(c)}
    assert physiological - offered == {ConditionId.BP_LOW}
    assert offered == set(EXPECTED)


def test_clinician_marked_events_keep_their_trees() -> None:
    marked = {event: [p.id for p in LIBRARY.offered_for(event)] for event in CLINICAL_EVENTS}
    assert marked == {
        "allergic_reaction": ["allergic-reaction"],
        "emergence_reaction": ["emergence-reaction"],
        "persistent_nausea": ["persistent-nausea"],
        "prolonged_dissociation": ["prolonged-dissociation"],
        "psychiatric_worsening": ["psychiatric-worsening"],
        "irregular_rhythm": ["cardiac-arrhythmia"],
        "before_infusion": ["readiness-checklist"],
        "before_discharge": ["discharge-checklist"],
    }


def test_every_name_in_the_library_is_one_the_app_raises_or_a_clinician_marks() -> None:
    known = {c.value for c in ConditionId} | CLINICAL_EVENTS
    for loaded in LIBRARY.protocols.values():
        assert set(loaded.protocol.offered_for) <= known, loaded.id


@pytest.mark.parametrize(
    "names",
    [
        "[bp_hihg]",
        "[bp_spike]",  # the old library's names: none is an alarm the engine raises
        "[bp_high, desaturation]",
        "[heart_rate_high]",
        "\n  - bp_high\n  - pulse_rate_low",
    ],
    ids=["typo", "old-bp-name", "one-of-two", "old-hr-name", "block-list"],
)
def test_an_unknown_offered_for_name_rejects_the_file_at_its_line(tmp_path: Path, names: str) -> None:
    text = BP_SPIKE.replace(OFFERED_FOR, f"offered_for: {names}", 1)
    assert text != BP_SPIKE
    path = tmp_path / "bp-spike.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolFileError) as caught:
        load_protocol(path)
    (problem,) = caught.value.problems
    bad = next(
        n for n in ("bp_hihg", "bp_spike", "desaturation", "heart_rate_high", "pulse_rate_low") if n in names
    )
    lines = text.splitlines()
    line = next(i for i, written in enumerate(lines, start=1) if bad in written)
    assert problem.line == line
    assert f"offered_for: {bad!r} is not an alarm condition" in problem.message
    # The message lists what may be written instead.
    assert (
        "spo2_low" in problem.message
        and "hr_low" in problem.message
        and "allergic_reaction" in problem.message
    )
    # The library load reports it and keeps the other files.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "bp-spike.yaml").write_text(text, encoding="utf-8")
    [rejected] = load_library(tmp_path / "other").errors
    assert [(p.line, p.message) for p in rejected.problems] == [(problem.line, problem.message)]


def test_offers_come_in_protocol_id_order_whatever_the_file_order(tmp_path: Path) -> None:
    for name in ("zz-first.yaml", "aa-second.yaml"):
        pid = name.removesuffix(".yaml")
        (tmp_path / name).write_text(BP_SPIKE.replace("id: bp-spike", f"id: {pid}", 1), encoding="utf-8")
    library = load_library(tmp_path)
    assert [p.id for p in library.offered_for(ConditionId.BP_HIGH)] == ["aa-second", "zz-first"]


def test_templates_say_they_are_not_approved_and_approved_files_say_nothing() -> None:
    for loaded in LIBRARY.protocols.values():
        assert not loaded.approved
        assert loaded.approval_words == TEMPLATE_WORDS == "TEMPLATE - not approved by the medical director"
        assert loaded.needs_acknowledgement
    approved = load_protocol(FIXTURES / "valid" / "approved-example.yaml")
    assert approved.approved and approved.approval_words == "" and not approved.needs_acknowledgement
    edited = load_protocol(FIXTURES / "flagged" / "approved-example.yaml")
    assert not edited.approved and edited.needs_acknowledgement
    assert edited.approval_words.startswith("CHANGED since approval")
    assert "content changed" in edited.approval_reason


# Words YAML reads as something else (yes, null, on) are a schema error, not a name: left out.
_IDENTIFIERS = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).filter(lambda n: yaml.safe_load(n) == n)
_KNOWN = sorted({c.value for c in ConditionId} | CLINICAL_EVENTS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.sampled_from(_KNOWN) | _IDENTIFIERS, min_size=1, max_size=4, unique=True))
def test_a_file_loads_exactly_when_every_offered_for_name_is_known(tmp_path: Path, names: list[str]) -> None:
    text = BP_SPIKE.replace(OFFERED_FOR, f"offered_for: [{', '.join(names)}]", 1)
    path = tmp_path / "bp-spike.yaml"
    path.write_text(text, encoding="utf-8")
    unknown = [n for n in names if n not in _KNOWN]
    if not unknown:
        assert load_protocol(path).protocol.offered_for == names
        return
    with pytest.raises(ProtocolFileError) as caught:
        load_protocol(path)
    line = text.splitlines().index(f"offered_for: [{', '.join(names)}]") + 1
    assert sorted((p.line, p.message.split("'")[1]) for p in caught.value.problems) == sorted(
        (line, n) for n in unknown
    )
