"""The app's one colour table and type scale: every view takes its colours and text sizes from here.

Two palettes: ``DARK`` (the default, for a dim infusion room) and ``LIGHT`` (``--theme light``).
Every colour comes with words (and, for alarms, a symbol; for trend markers, a size), so a colour
is never the only cue (ALM-1). A reading's look is keyed by the engine's ``ReadingClass``
(thresholds first, then the band), never by the band alone (THR-4, THR-7). The expected-rise band
has its own colour, never the medium-alarm yellow, so "expected" never looks like "alarm".

Text sizes are given in pixels for a 1920x1080 window and scaled with the window (``text_scale``):
the numerics are sized so their capital height is at least 25 mm on a 24-inch 1080p panel
(about 94 px), readable from 3 m.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from alarms import AlarmPriority, ReadingClass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClassLook:
    """How one reading class is shown: its words, its colour and its trend marker size."""

    word: str
    colour: str
    marker_size: int


@dataclass(frozen=True, slots=True)
class Palette:
    """Every colour a view may use, by what it means."""

    name: str
    background: str
    surface: str  # tiles, panels
    raised: str  # buttons
    border: str
    text: str
    muted: str
    stale: str  # a value that is not current (greyed with its age)
    spo2: str
    pulse: str
    nibp: str  # the NIBP digits before the engine has judged the reading
    good: str  # link up, within limits
    band: str  # the expected-rise band: not an alarm colour
    warning: str  # "no patient recorded", template marks, a link gone quiet (always with words)
    on_warning: str
    danger: str  # CALL 911
    on_danger: str
    offer: str  # an offered protocol's start button
    on_offer: str
    past_window: str  # recovery past the expected dissociation window
    simulation: str
    on_simulation: str
    priority: dict[AlarmPriority, str] = field(default_factory=dict)
    #: The words of an alarm row in its dark flash phase (readable on ``background``).
    priority_text: dict[AlarmPriority, str] = field(default_factory=dict)
    #: Text on a lit alarm row.
    on_priority: str = ""
    reading: dict[ReadingClass, ClassLook] = field(default_factory=dict)
    #: The trend plots: background, baseline lines, threshold lines and their words, the NIBP
    #: mean marker and the outline of class markers.
    plot_background: str = ""
    plot_baseline: str = ""
    plot_threshold: str = ""
    plot_threshold_text: str = ""
    plot_mean: str = ""
    plot_marker_outline: str = ""
    #: The trend's axes (line and numbers) and the words on its plots (legend, key, line labels).
    plot_axis: str = ""
    plot_axis_text: str = ""
    plot_text: str = ""
    #: One colour per source's curve, in the order the sources appeared (the first is the tile's
    #: colour); each source also has its own dash and marker (``SOURCE_LINES``): colour is never
    #: the only cue. A curve whose source is not known (a resumed history) is ``plot_history``.
    spo2_lines: tuple[str, ...] = ()
    pulse_lines: tuple[str, ...] = ()
    plot_history: str = ""


_IEC_RED, _IEC_YELLOW, _IEC_CYAN = "#e02020", "#f5c400", "#00b7d4"

DARK = Palette(
    name="dark",
    background="#0b0f14",
    surface="#11161c",
    raised="#1c242e",
    border="#2a3440",
    text="#d8dee9",
    muted="#8a94a6",
    stale="#5c6670",
    spo2="#00e5ff",
    pulse="#3ddc84",
    nibp="#e8eef5",
    good="#3ddc84",
    band="#6fa8dc",
    warning="#ffd400",
    on_warning="#0b0f14",
    danger="#c62828",
    on_danger="#ffffff",
    offer="#f9a825",
    on_offer="#0b0f14",
    past_window="#ff8a65",
    simulation="#d1008f",
    on_simulation="#ffffff",
    priority={AlarmPriority.HIGH: _IEC_RED, AlarmPriority.MEDIUM: _IEC_YELLOW, AlarmPriority.LOW: _IEC_CYAN},
    priority_text={
        AlarmPriority.HIGH: "#ff5c5c",
        AlarmPriority.MEDIUM: _IEC_YELLOW,
        AlarmPriority.LOW: _IEC_CYAN,
    },
    on_priority="#0b0f14",
    reading={
        ReadingClass.PAST_CEILING: ClassLook("PAST CEILING", "#ff2a2a", 18),
        ReadingClass.ABOVE_EXPECTED: ClassLook("ABOVE EXPECTED RISE", "#ff6a00", 18),
        ReadingClass.EXPECTED_RISE: ClassLook("expected rise", "#6fa8dc", 12),
        ReadingClass.AT_BASELINE: ClassLook("at baseline", "#9be39b", 12),
        ReadingClass.FALL_FROM_BASELINE: ClassLook("FALL FROM BASELINE", "#b388ff", 18),
        ReadingClass.BELOW_FLOOR: ClassLook("BELOW FLOOR", "#ff2a2a", 18),
        ReadingClass.WITHIN_LIMITS: ClassLook("within clinic limits", "#cfd8dc", 12),
        ReadingClass.NOT_JUDGED: ClassLook("not judged", "#9aa7b4", 10),
    },
    plot_background="#05080b",
    plot_baseline="#e0e0e0",
    plot_threshold="#ff3030",
    plot_threshold_text="#ff6060",
    plot_mean="#ffb0b0",
    # Every pen on the trend stands out from its background (WCAG 3:1 for graphics): a black
    # outline on the near-black plot was invisible.
    plot_marker_outline="#e8eef5",
    plot_axis="#5c6670",
    plot_axis_text="#8a94a6",
    plot_text="#d8dee9",
    spo2_lines=("#00e5ff", "#d0a8ff", "#ffcc80", "#f48fb1"),
    pulse_lines=("#3ddc84", "#d0a8ff", "#ffcc80", "#f48fb1"),
    plot_history="#8a94a6",
)

LIGHT = Palette(
    name="light",
    background="#f4f6f8",
    surface="#ffffff",
    raised="#e3e8ee",
    border="#b8c2cc",
    text="#111820",
    muted="#4f5b66",
    stale="#8d969f",
    spo2="#006a80",
    pulse="#1b7a3d",
    nibp="#111820",
    good="#1b7a3d",
    band="#2f6db0",
    warning="#8a6d00",
    on_warning="#ffffff",
    danger="#c62828",
    on_danger="#ffffff",
    offer="#f9a825",
    on_offer="#111820",
    past_window="#b23c17",
    simulation="#b0007a",
    on_simulation="#ffffff",
    priority={AlarmPriority.HIGH: _IEC_RED, AlarmPriority.MEDIUM: _IEC_YELLOW, AlarmPriority.LOW: _IEC_CYAN},
    priority_text={
        AlarmPriority.HIGH: "#b00000",
        AlarmPriority.MEDIUM: "#7a5f00",
        AlarmPriority.LOW: "#006a80",
    },
    on_priority="#111820",
    reading={
        ReadingClass.PAST_CEILING: ClassLook("PAST CEILING", "#c00000", 18),
        ReadingClass.ABOVE_EXPECTED: ClassLook("ABOVE EXPECTED RISE", "#c04a00", 18),
        ReadingClass.EXPECTED_RISE: ClassLook("expected rise", "#2f6db0", 12),
        ReadingClass.AT_BASELINE: ClassLook("at baseline", "#1b7a3d", 12),
        ReadingClass.FALL_FROM_BASELINE: ClassLook("FALL FROM BASELINE", "#6a3fb5", 18),
        ReadingClass.BELOW_FLOOR: ClassLook("BELOW FLOOR", "#c00000", 18),
        ReadingClass.WITHIN_LIMITS: ClassLook("within clinic limits", "#37474f", 12),
        ReadingClass.NOT_JUDGED: ClassLook("not judged", "#5f6b75", 10),
    },
    plot_background="#ffffff",
    plot_baseline="#37474f",
    plot_threshold="#c00000",
    plot_threshold_text="#b00000",
    plot_mean="#8a3030",
    plot_marker_outline="#111820",
    # Dark enough on white: the dark theme's cyan and green lines were near invisible on it.
    plot_axis="#5c6670",
    plot_axis_text="#4f5b66",
    plot_text="#111820",
    spo2_lines=("#006a80", "#6a3fb5", "#8a5a00", "#ad1457"),
    pulse_lines=("#1b7a3d", "#6a3fb5", "#8a5a00", "#ad1457"),
    plot_history="#4f5b66",
)

THEMES: dict[str, Palette] = {DARK.name: DARK, LIGHT.name: LIGHT}
_current: list[Palette] = [DARK]


class UnknownThemeError(ValueError):
    """A theme name that is neither ``dark`` nor ``light``."""


def use_theme(name: str) -> Palette:
    """Choose the palette every view built from now on takes (``dark`` or ``light``)."""
    try:
        chosen = THEMES[name.strip().lower()]
    except KeyError:
        raise UnknownThemeError(f"theme {name!r}: choose one of {', '.join(THEMES)}") from None
    _current[0] = chosen
    log.info("theme: %s", chosen.name)
    return chosen


def palette() -> Palette:
    """The palette in use."""
    return _current[0]


@dataclass(frozen=True, slots=True)
class SourceLine:
    """How one source's curve differs from the others' besides its colour: the dash of its line,
    the marker set along it every few minutes, and both as text for a tile or a list row."""

    dash: str  # "solid", "dash", "dot", "dashdot"
    symbol: str  # a pyqtgraph symbol ("" for none)
    key: str  # the line and marker as characters: "━━━", "╍╍■" ...


#: By the order the sources appeared; the first (the tile's) is a plain solid line, so a screen
#: with one oximeter costs what it did.
SOURCE_LINES: tuple[SourceLine, ...] = (
    SourceLine("solid", "", "━━━"),
    SourceLine("dash", "s", "╍╍■"),
    SourceLine("dot", "d", "┅┅◆"),
    SourceLine("dashdot", "t", "━┅▲"),
)
#: A curve whose source is not known (the stored history of a resumed session).
HISTORY_LINE = SourceLine("solid", "", "───")


def source_line(index: int) -> SourceLine:
    """The dash and marker of the ``index``-th source of a vital (repeating past the table)."""
    return SOURCE_LINES[index % len(SOURCE_LINES)]


def line_colour(colours: tuple[str, ...], index: int) -> str:
    """The colour of the ``index``-th source's curve from a palette's ``spo2_lines`` or
    ``pulse_lines`` (repeating past the table; the dash and marker still differ)."""
    return colours[index % len(colours)]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21; 3 is the floor for graphics)."""

    def luminance(colour: str) -> float:
        digits = colour.lstrip("#")
        channels = [int(digits[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def class_look(reading_class: ReadingClass) -> ClassLook:
    """The look of a reading class (a class added to the engine later shows as "not judged" grey)."""
    looks = palette().reading
    return looks.get(reading_class, looks[ReadingClass.NOT_JUDGED])


def priority_colour(priority: AlarmPriority) -> str:
    """The alarm priority's colour (IEC 60601-1-8: red, yellow, cyan); always shown with its symbol."""
    return palette().priority[priority]


# -- the type scale ---------------------------------------------------------------------------------

#: Text sizes in pixels at the reference window (1920x1080), by role.
TEXT_PX: dict[str, int] = {
    "small": 15,
    "body": 18,
    "button": 19,
    "heading": 22,
    "alarm": 22,
    "step": 28,
    "call911": 30,
    "vital_label": 24,
    "vital_state": 24,
    # DejaVu Sans Bold's capitals are 0.73 em: 132 px gives the 94 px cap height of 25 mm at 1080p.
    "numeric": 132,
    "numeric_nibp": 132,
}
REFERENCE_SIZE = (1920, 1080)
#: The window never scales text below the 1366x768 size nor beyond 4K.
_SCALE_RANGE = (1366 / 1920, 2.0)


def text_scale(width: int, height: int) -> float:
    """How much larger than at 1920x1080 the text is in a window of this size (from its height,
    or its width when the window is narrower than 16:9, so text never outgrows the window)."""
    ref_w, ref_h = REFERENCE_SIZE
    scale = min(height / ref_h, width / ref_w)
    low, high = _SCALE_RANGE
    return min(high, max(low, scale))


def text_px(role: str, scale: float) -> int:
    """The pixel size of a text role at a scale."""
    return max(9, round(TEXT_PX.get(role, TEXT_PX["body"]) * scale))


# -- the names other views import (the dark palette's; use ``palette()`` for the chosen one) -------

BACKGROUND = DARK.background
MUTED = DARK.muted
SPO2_COLOUR = DARK.spo2
PULSE_COLOUR = DARK.pulse
NIBP_COLOUR = DARK.nibp
#: A value that is not current (greyed), the words of a technical state (cyan, as technical
#: alarms), and the SIMULATION mark on a tile whose data is not a patient's.
NOT_CURRENT_VALUE = DARK.stale
TECHNICAL_TEXT = DARK.priority[AlarmPriority.LOW]
SIMULATION_MARK = DARK.simulation
#: The pleth waveform strip under SpO2.
PLETH_COLOUR = "#00b8cc"
#: The trend plots' background and axes (they have no grid: it cost more than the data to paint).
TREND_BACKGROUND = "#05080b"
TREND_AXIS = "#5c6670"
BAND_COLOUR = DARK.band
#: Kept for views that still read the table directly (the dark palette's looks).
READING_CLASS_LOOK = DARK.reading


def audio_off_style() -> str:
    """The indicator while the alarm sound cannot play: as loud on screen as a technical alarm."""
    p = palette()
    return (
        f"background: {p.warning}; color: {p.on_warning}; font-weight: bold; padding: 4px 10px;"
        f" border: 2px solid {p.warning};"
    )


def audio_paused_style() -> str:
    """The indicator while the alarm audio is paused (with its countdown)."""
    p = palette()
    return (
        f"background: {p.background}; color: {p.priority_text[AlarmPriority.MEDIUM]}; font-weight: bold;"
        f" padding: 4px 10px; border: 2px solid {p.priority[AlarmPriority.MEDIUM]};"
    )


AUDIO_OFF_STYLE = audio_off_style()
AUDIO_PAUSED_STYLE = audio_paused_style()


def link_colour(state: str) -> str:
    """A device link's colour by its state's value (always shown beside the state in words)."""
    p = palette()
    return {"connected": p.good, "resumed": p.good, "silent": p.warning, "disconnected": p.danger}.get(
        state, p.muted
    )
