"""Every row of the MDC/LOINC code table and the unit tables (MON-6: the right vital, the right unit)."""

from __future__ import annotations

import pytest

from drivers.mdc import (
    KIND_QUANTITY,
    MDC_UNITS,
    UCUM_UNITS,
    VITAL_CODES,
    CodeConflictError,
    CodeSystem,
    UnitNotAcceptedError,
    to_canonical,
    unit_entry,
    vital_for_code,
)
from drivers.types import CANONICAL_UNIT, VitalKind

# Written out by hand from IEEE 11073-10101 / LOINC, independently of the table under test.
EXPECTED_CODES = {
    ("MDC", "150456"): ("MDC_PULS_OXIM_SAT_O2", VitalKind.SPO2),
    ("MDC", "149530"): ("MDC_PULS_OXIM_PULS_RATE", VitalKind.PULSE_RATE),
    ("MDC", "147842"): ("MDC_ECG_HEART_RATE", VitalKind.HEART_RATE),
    ("MDC", "150021"): ("MDC_PRESS_BLD_NONINV_SYS", VitalKind.NIBP_SYSTOLIC),
    ("MDC", "150022"): ("MDC_PRESS_BLD_NONINV_DIA", VitalKind.NIBP_DIASTOLIC),
    ("MDC", "150023"): ("MDC_PRESS_BLD_NONINV_MEAN", VitalKind.NIBP_MEAN),
    ("MDC", "150448"): ("MDC_PULS_OXIM_PERF_REL", VitalKind.PERFUSION_INDEX),
    ("LN", "59408-5"): ("", VitalKind.SPO2),
    ("LN", "2708-6"): ("", VitalKind.SPO2),
    ("LN", "8889-8"): ("", VitalKind.PULSE_RATE),
    ("LN", "8867-4"): ("", VitalKind.HEART_RATE),
    ("LN", "8480-6"): ("", VitalKind.NIBP_SYSTOLIC),
    ("LN", "8462-4"): ("", VitalKind.NIBP_DIASTOLIC),
    ("LN", "8478-0"): ("", VitalKind.NIBP_MEAN),
}

EXPECTED_MDC_UNITS = {
    "262688": ("MDC_DIM_PERCENT", "%", 1.0),
    "264864": ("MDC_DIM_BEAT_PER_MIN", "/min", 1.0),
    "266016": ("MDC_DIM_MMHG", "mm[Hg]", 1.0),
    "265987": ("MDC_DIM_KILO_PASCAL", "mm[Hg]", 7.50062),
}

EXPECTED_UCUM_UNITS = {
    "%": ("%", 1.0),
    "/min": ("/min", 1.0),
    "{beats}/min": ("/min", 1.0),
    "{beat}/min": ("/min", 1.0),
    "mm[Hg]": ("mm[Hg]", 1.0),
    "kPa": ("mm[Hg]", 7.50062),
}


def test_code_table_has_exactly_the_expected_rows() -> None:
    assert {(s.value, c) for s, c in VITAL_CODES} == set(EXPECTED_CODES)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(("system", "code"), sorted(EXPECTED_CODES))
def test_every_code_maps_to_its_vital(system: str, code: str) -> None:
    reference_id, kind = EXPECTED_CODES[(system, code)]
    row = vital_for_code(code, system, reference_id)
    assert row is not None
    assert row.kind is kind
    if reference_id:
        assert row.reference_id == reference_id
        # An empty coding system with a numeric code is read as MDC; the reference id alone works too.
        assert vital_for_code(code, "", "") is row
        assert vital_for_code("", "MDC", reference_id) is row


@pytest.mark.parametrize("system", ["LN", "LOINC", "ln", "2.16.840.1.113883.6.1"])
def test_loinc_system_spellings(system: str) -> None:
    row = vital_for_code("8480-6", system)
    assert row is not None and row.system is CodeSystem.LOINC and row.kind is VitalKind.NIBP_SYSTOLIC


def test_unknown_codes_and_systems_are_not_vitals() -> None:
    assert vital_for_code("150020", "MDC") is None  # the NIBP compound, not one of its values
    assert vital_for_code("150033", "MDC") is None  # invasive arterial systolic: not NIBP
    assert vital_for_code("150456", "LN") is None  # an MDC code under the wrong system
    assert vital_for_code("8480-6", "MDC") is None
    assert vital_for_code("150456", "SNOMED-CT") is None


@pytest.mark.req("MON-6")
def test_code_and_text_naming_two_vitals_is_a_conflict() -> None:
    with pytest.raises(CodeConflictError, match="MDC_PRESS_BLD_NONINV_SYS"):
        vital_for_code("150021", "MDC", "MDC_PRESS_BLD_NONINV_DIA")


def test_mdc_unit_table_has_exactly_the_expected_rows() -> None:
    assert set(MDC_UNITS) == set(EXPECTED_MDC_UNITS)
    assert set(UCUM_UNITS) == set(EXPECTED_UCUM_UNITS)


@pytest.mark.parametrize("code", sorted(EXPECTED_MDC_UNITS))
def test_every_mdc_unit(code: str) -> None:
    reference_id, canonical, factor = EXPECTED_MDC_UNITS[code]
    entry = unit_entry(code, "MDC")
    assert entry is not None
    assert entry.reference_id == reference_id
    assert entry.canonical == canonical
    assert entry.factor == pytest.approx(factor, rel=1e-5)
    assert unit_entry(code) is entry  # no coding system, numeric code: MDC
    assert unit_entry("", "MDC", reference_id) is entry


@pytest.mark.parametrize("code", sorted(EXPECTED_UCUM_UNITS))
def test_every_ucum_unit(code: str) -> None:
    canonical, factor = EXPECTED_UCUM_UNITS[code]
    entry = unit_entry(code, "UCUM")
    assert entry is not None
    assert entry.canonical == canonical
    assert entry.factor == pytest.approx(factor, rel=1e-5)
    assert unit_entry(code) is entry


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("kind", list(VitalKind))
def test_every_kind_accepts_only_units_of_its_quantity(kind: VitalKind) -> None:
    for code, (_, canonical, factor) in EXPECTED_MDC_UNITS.items():
        if canonical == CANONICAL_UNIT[kind]:
            assert to_canonical(kind, 10.0, code, "MDC") == pytest.approx(10.0 * factor, rel=1e-5)
        else:
            with pytest.raises(UnitNotAcceptedError, match=kind.value):
                to_canonical(kind, 10.0, code, "MDC")
    for code, (canonical, factor) in EXPECTED_UCUM_UNITS.items():
        if canonical == CANONICAL_UNIT[kind]:
            assert to_canonical(kind, 10.0, code, "UCUM") == pytest.approx(10.0 * factor, rel=1e-5)
        else:
            with pytest.raises(UnitNotAcceptedError):
                to_canonical(kind, 10.0, code, "UCUM")
    assert kind in KIND_QUANTITY


@pytest.mark.req("MON-6")
def test_kpa_is_converted_to_mmhg() -> None:
    assert to_canonical(VitalKind.NIBP_SYSTOLIC, 16.0, "265987", "MDC") == pytest.approx(120.0, abs=0.05)
    assert to_canonical(VitalKind.NIBP_MEAN, 13.3322, "kPa", "UCUM") == pytest.approx(100.0, abs=0.01)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(
    ("code", "system", "text"),
    [("mmHg", "Unit", ""), ("", "", ""), ("264274", "MDC", ""), ("beats", "", ""), ("266016", "UCUM", "")],
)
def test_unknown_units_are_rejected_with_a_reason(code: str, system: str, text: str) -> None:
    with pytest.raises(UnitNotAcceptedError, match="not a known unit"):
        to_canonical(VitalKind.NIBP_SYSTOLIC, 120.0, code, system, text)
