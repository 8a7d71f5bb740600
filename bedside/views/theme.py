"""The monitor's one colour table: vitals, NIBP reading classes and the audio indicator.

Every view takes its colours from here, and every colour comes with words (and, for trend markers,
a size), so a colour is never the only cue (ALM-1). A reading's look is keyed by the engine's
``ReadingClass`` (thresholds first, then the band), never by the band alone (THR-4, THR-7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alarms import ReadingClass

log = logging.getLogger(__name__)

BACKGROUND = "#0b0f14"
MUTED = "#8a94a6"
SPO2_COLOUR = "#00e5ff"
PULSE_COLOUR = "#3ddc84"
NIBP_COLOUR = "#ff5c5c"
#: A value that is not current (greyed), the words of a technical state (cyan, as technical
#: alarms), and the SIMULATION mark on a tile whose data is not a patient's.
NOT_CURRENT_VALUE = "#5c6670"
TECHNICAL_TEXT = "#00e5ff"
SIMULATION_MARK = "#ff4fd8"
#: The pleth waveform strip under SpO2.
PLETH_COLOUR = "#00b8cc"
#: The trend plots' background and axes (they have no grid: it cost more than the data to paint).
TREND_BACKGROUND = "#05080b"
TREND_AXIS = "#5c6670"


@dataclass(frozen=True, slots=True)
class ClassLook:
    """How one reading class is shown: its words, its colour and its trend marker size."""

    word: str
    colour: str
    marker_size: int


#: Alarming classes get large markers and alarm colours; the words always travel with the colour.
READING_CLASS_LOOK: dict[ReadingClass, ClassLook] = {
    ReadingClass.PAST_CEILING: ClassLook("PAST CEILING", "#ff2a2a", 18),
    ReadingClass.ABOVE_EXPECTED: ClassLook("ABOVE EXPECTED RISE", "#ff6a00", 18),
    ReadingClass.EXPECTED_RISE: ClassLook("expected rise", "#ffb000", 12),
    ReadingClass.AT_BASELINE: ClassLook("at baseline", "#9be39b", 12),
    ReadingClass.FALL_FROM_BASELINE: ClassLook("FALL FROM BASELINE", "#b388ff", 18),
    ReadingClass.BELOW_FLOOR: ClassLook("BELOW FLOOR", "#ff2a2a", 18),
    ReadingClass.WITHIN_LIMITS: ClassLook("within clinic limits", "#cfd8dc", 12),
    ReadingClass.NOT_JUDGED: ClassLook("not judged", "#9aa7b4", 10),
}


def class_look(reading_class: ReadingClass) -> ClassLook:
    """The look of a reading class (a class added to the engine later shows as "not judged" grey)."""
    return READING_CLASS_LOOK.get(reading_class, READING_CLASS_LOOK[ReadingClass.NOT_JUDGED])


#: The audio indicator: sound unavailable is as loud on screen as a technical alarm.
AUDIO_OFF_STYLE = (
    "background: #ffd400; color: #0b0f14; font-size: 18px; font-weight: bold; padding: 4px 10px;"
    " border: 2px solid #ffd400;"
)
AUDIO_PAUSED_STYLE = (
    "background: #0b0f14; color: #ffd400; font-size: 18px; font-weight: bold; padding: 4px 10px;"
    " border: 2px solid #ffd400;"
)
