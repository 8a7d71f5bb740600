"""IEEE 11073 MDC and LOINC codes for the vitals Bedside uses, and the units they may come in.

Tables, not if-chains: a wrong row is visible in review and every row is tested. MDC numeric
codes are ``partition * 65536 + term code`` (partition 2 = SCADA metrics, 4 = dimensions), e.g.
MDC_PULS_OXIM_SAT_O2 = 2 * 65536 + 19384 = 150456.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from drivers.types import CANONICAL_UNIT, VitalKind

log = logging.getLogger(__name__)


class CodeSystem(enum.StrEnum):
    """Coding systems accepted in OBX-3."""

    MDC = "MDC"
    LOINC = "LN"


@dataclass(frozen=True, slots=True)
class VitalCode:
    """One observation code that names a vital Bedside tracks."""

    system: CodeSystem
    code: str
    reference_id: str  # MDC reference id or LOINC short name
    kind: VitalKind


_VITAL_CODE_ROWS: tuple[VitalCode, ...] = (
    VitalCode(CodeSystem.MDC, "150456", "MDC_PULS_OXIM_SAT_O2", VitalKind.SPO2),
    VitalCode(CodeSystem.MDC, "149530", "MDC_PULS_OXIM_PULS_RATE", VitalKind.PULSE_RATE),
    VitalCode(CodeSystem.MDC, "147842", "MDC_ECG_HEART_RATE", VitalKind.HEART_RATE),
    VitalCode(CodeSystem.MDC, "150021", "MDC_PRESS_BLD_NONINV_SYS", VitalKind.NIBP_SYSTOLIC),
    VitalCode(CodeSystem.MDC, "150022", "MDC_PRESS_BLD_NONINV_DIA", VitalKind.NIBP_DIASTOLIC),
    VitalCode(CodeSystem.MDC, "150023", "MDC_PRESS_BLD_NONINV_MEAN", VitalKind.NIBP_MEAN),
    # 2 * 65536 + 19376. (150488, sometimes quoted, is not this term.)
    VitalCode(CodeSystem.MDC, "150448", "MDC_PULS_OXIM_PERF_REL", VitalKind.PERFUSION_INDEX),
    VitalCode(CodeSystem.LOINC, "59408-5", "SaO2 % BldA PulseOx", VitalKind.SPO2),
    VitalCode(CodeSystem.LOINC, "2708-6", "SaO2 % BldA", VitalKind.SPO2),
    VitalCode(CodeSystem.LOINC, "8889-8", "Heart rate by Pulse oximetry", VitalKind.PULSE_RATE),
    VitalCode(CodeSystem.LOINC, "8867-4", "Heart rate", VitalKind.HEART_RATE),
    VitalCode(CodeSystem.LOINC, "8480-6", "Systolic blood pressure", VitalKind.NIBP_SYSTOLIC),
    VitalCode(CodeSystem.LOINC, "8462-4", "Diastolic blood pressure", VitalKind.NIBP_DIASTOLIC),
    VitalCode(CodeSystem.LOINC, "8478-0", "Mean blood pressure", VitalKind.NIBP_MEAN),
)

#: (coding system, code) -> the vital it names.
VITAL_CODES: dict[tuple[CodeSystem, str], VitalCode] = {(r.system, r.code): r for r in _VITAL_CODE_ROWS}
#: MDC reference id (``MDC_PULS_OXIM_SAT_O2``) -> row, to cross-check OBX-3's text against its code.
VITAL_REFERENCE_IDS: dict[str, VitalCode] = {
    r.reference_id: r for r in _VITAL_CODE_ROWS if r.system is CodeSystem.MDC
}

#: Spellings of the coding-system component (OBX-3.3) for each system.
_SYSTEM_NAMES: dict[str, CodeSystem] = {
    "MDC": CodeSystem.MDC,
    "LN": CodeSystem.LOINC,
    "LOINC": CodeSystem.LOINC,
    "2.16.840.1.113883.6.1": CodeSystem.LOINC,
}


class Quantity(enum.StrEnum):
    """What a unit measures; a value is accepted only in a unit of its kind's quantity."""

    FRACTION = "fraction"
    RATE = "rate"
    PRESSURE = "pressure"


@dataclass(frozen=True, slots=True)
class UnitEntry:
    """A unit as it appears on the wire, and how to bring a value in it to the canonical unit."""

    quantity: Quantity
    canonical: str  # UCUM spelling of the canonical unit for this quantity
    factor: float  # value_in_canonical = value_on_wire * factor
    reference_id: str = ""


_MMHG_PER_KPA = 760.0 / 101.325

#: MDC dimension codes (partition 4: 262144 + term code).
MDC_UNITS: dict[str, UnitEntry] = {
    "262688": UnitEntry(Quantity.FRACTION, "%", 1.0, "MDC_DIM_PERCENT"),
    "264864": UnitEntry(Quantity.RATE, "/min", 1.0, "MDC_DIM_BEAT_PER_MIN"),
    "266016": UnitEntry(Quantity.PRESSURE, "mm[Hg]", 1.0, "MDC_DIM_MMHG"),
    "265987": UnitEntry(Quantity.PRESSURE, "mm[Hg]", _MMHG_PER_KPA, "MDC_DIM_KILO_PASCAL"),
}
#: MDC reference id -> entry, for senders that put only the reference id in OBX-6.
MDC_UNIT_REFERENCE_IDS: dict[str, UnitEntry] = {e.reference_id: e for e in MDC_UNITS.values()}

#: UCUM unit codes.
UCUM_UNITS: dict[str, UnitEntry] = {
    "%": UnitEntry(Quantity.FRACTION, "%", 1.0),
    "/min": UnitEntry(Quantity.RATE, "/min", 1.0),
    "{beats}/min": UnitEntry(Quantity.RATE, "/min", 1.0),
    "{beat}/min": UnitEntry(Quantity.RATE, "/min", 1.0),
    "mm[Hg]": UnitEntry(Quantity.PRESSURE, "mm[Hg]", 1.0),
    "kPa": UnitEntry(Quantity.PRESSURE, "mm[Hg]", _MMHG_PER_KPA),
}

#: The quantity each vital is measured as.
KIND_QUANTITY: dict[VitalKind, Quantity] = {
    VitalKind.SPO2: Quantity.FRACTION,
    VitalKind.PULSE_RATE: Quantity.RATE,
    VitalKind.HEART_RATE: Quantity.RATE,
    VitalKind.NIBP_SYSTOLIC: Quantity.PRESSURE,
    VitalKind.NIBP_DIASTOLIC: Quantity.PRESSURE,
    VitalKind.NIBP_MEAN: Quantity.PRESSURE,
    VitalKind.PERFUSION_INDEX: Quantity.FRACTION,
}


class CodeConflictError(ValueError):
    """OBX-3's code and its MDC reference id name two different vitals."""


class UnitNotAcceptedError(ValueError):
    """A value came in a unit that is unknown, or not a unit of its vital's quantity."""


def vital_for_code(code: str, system: str = "", text: str = "") -> VitalCode | None:
    """The vital an observation identifier (OBX-3: code, coding system, text) names, or None.

    An empty coding system is read as MDC for a numeric code. A code whose text is another
    vital's MDC reference id raises ``CodeConflictError`` (a device must never be trusted on half).
    """
    code = code.strip()
    system = system.strip().upper()
    text = text.strip()
    coding = _SYSTEM_NAMES.get(system)
    if coding is None and not system and code.isdigit():
        coding = CodeSystem.MDC
    row = VITAL_CODES.get((coding, code)) if coding is not None else None
    if row is None and not code and coding in (None, CodeSystem.MDC):
        row = VITAL_REFERENCE_IDS.get(text)
    if row is not None and row.system is CodeSystem.MDC and text.startswith("MDC_"):
        named = VITAL_REFERENCE_IDS.get(text)
        if named is not None and named is not row:
            raise CodeConflictError(f"OBX-3 code {code} is {row.reference_id} but its text says {text}")
    return row


def to_canonical(
    kind: VitalKind, value: float, unit_code: str, unit_system: str = "", unit_text: str = ""
) -> float:
    """``value`` brought to the canonical unit of ``kind`` (see ``CANONICAL_UNIT``).

    Raises ``UnitNotAcceptedError`` for an unknown unit or one of another quantity.
    """
    entry = unit_entry(unit_code, unit_system, unit_text)
    shown = unit_code or unit_text or "(none)"
    if entry is None:
        raise UnitNotAcceptedError(f"unit {shown!r} is not a known unit for {kind.value}")
    if entry.quantity is not KIND_QUANTITY[kind] or entry.canonical != CANONICAL_UNIT[kind]:
        raise UnitNotAcceptedError(
            f"unit {shown!r} measures {entry.quantity.value}, not {KIND_QUANTITY[kind].value} ({kind.value})"
        )
    return value * entry.factor


def unit_entry(unit_code: str, unit_system: str = "", unit_text: str = "") -> UnitEntry | None:
    """Look a unit (OBX-6: code, coding system, text) up in the MDC and UCUM tables."""
    code = unit_code.strip()
    system = unit_system.strip().upper()
    text = unit_text.strip()
    if system == "MDC" or (not system and code.isdigit()):
        return MDC_UNITS.get(code) or MDC_UNIT_REFERENCE_IDS.get(code) or MDC_UNIT_REFERENCE_IDS.get(text)
    if system in ("UCUM", ""):
        return UCUM_UNITS.get(code) or (UCUM_UNITS.get(text) if not code else None)
    return None
