"""IEC 60601-1-8 alarm priorities and how each is shown: colour, text and symbol together (ALM-1).

Priority is never conveyed by colour alone, so every priority carries a word and a symbol too.
Visual flash rates come from IEC 60601-1-8 Table 1 (high: 1.4-2.8 Hz, medium: 0.4-0.8 Hz, both
20-60 % duty cycle; low: steady, not flashing).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FlashSpec:
    """How an alarm indicator flashes: the rate the view uses and the standard's allowed ranges."""

    frequency_hz: float
    duty_cycle: float
    allowed_frequency_hz: tuple[float, float]
    allowed_duty_cycle: tuple[float, float]

    @property
    def steady(self) -> bool:
        """True when the indicator is lit continuously (low priority)."""
        return self.frequency_hz == 0.0

    @property
    def on_s(self) -> float:
        """Seconds lit per flash period (0 for steady)."""
        return 0.0 if self.steady else self.duty_cycle / self.frequency_hz

    @property
    def off_s(self) -> float:
        """Seconds dark per flash period (0 for steady)."""
        return 0.0 if self.steady else (1.0 - self.duty_cycle) / self.frequency_hz


@dataclass(frozen=True, slots=True)
class PriorityLook:
    """Everything the view needs to draw one priority: colour, word, symbol and flashing."""

    colour: str
    text: str
    symbol: str
    flash: FlashSpec


class AlarmPriority(enum.IntEnum):
    """Alarm priority; a larger value is more urgent, so ``max()`` gives the one to sound."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def look(self) -> PriorityLook:
        """Colour, text, symbol and flash rate for this priority."""
        return PRIORITY_LOOK[self]

    @property
    def colour(self) -> str:
        """Indicator colour (hex RGB): red, yellow, cyan."""
        return PRIORITY_LOOK[self].colour

    @property
    def text(self) -> str:
        """The priority in words."""
        return PRIORITY_LOOK[self].text

    @property
    def symbol(self) -> str:
        """The priority as a symbol ("!!!", "!!", "!")."""
        return PRIORITY_LOOK[self].symbol

    @property
    def flash(self) -> FlashSpec:
        """How the indicator flashes."""
        return PRIORITY_LOOK[self].flash


PRIORITY_LOOK: dict[AlarmPriority, PriorityLook] = {
    AlarmPriority.HIGH: PriorityLook(
        colour="#E02020",
        text="HIGH",
        symbol="!!!",
        flash=FlashSpec(2.0, 0.5, allowed_frequency_hz=(1.4, 2.8), allowed_duty_cycle=(0.2, 0.6)),
    ),
    AlarmPriority.MEDIUM: PriorityLook(
        colour="#F5C400",
        text="MEDIUM",
        symbol="!!",
        flash=FlashSpec(0.6, 0.5, allowed_frequency_hz=(0.4, 0.8), allowed_duty_cycle=(0.2, 0.6)),
    ),
    AlarmPriority.LOW: PriorityLook(
        colour="#00B7D4",
        text="LOW",
        symbol="!",
        flash=FlashSpec(0.0, 1.0, allowed_frequency_hz=(0.0, 0.0), allowed_duty_cycle=(1.0, 1.0)),
    ),
}
