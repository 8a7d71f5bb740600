"""Trend plots for the PDF record, drawn with reportlab graphics (no matplotlib, no Qt).

Three charts on one time axis: SpO2, pulse/heart rate, and NIBP (each reading a bar from diastolic
to systolic, the mean a dot) with the baseline, the expected-rise band and the thresholds in force
at each moment (a threshold changed mid-session steps). A line never bridges a gap: it breaks where
a value is not valid and where two valid values are further apart than the clinic's
``monitoring.stale_after_s`` (what the monitor itself would stop showing as current). Times the
monitor was not watching are hatched and labelled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from reportlab.graphics.shapes import Drawing, Group, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from alarms import ClinicalConfig, NibpAssembler, NibpReading
from drivers.types import Observation, VitalKind
from storage.full_record import FullSessionRecord
from storage.records import ThresholdSetRecord

log = logging.getLogger(__name__)

#: Points per plotted sample bucket: one min/max pair per bucket keeps an 8-hour line light.
BUCKET_PT = 0.75

SPO2_COLOUR = colors.HexColor("#1565c0")
PULSE_COLOUR = colors.HexColor("#2e7d32")
HR_COLOUR = colors.HexColor("#6a1b9a")
BP_COLOUR = colors.HexColor("#b71c1c")
CEILING_COLOUR = colors.HexColor("#d32f2f")
FLOOR_COLOUR = colors.HexColor("#ef6c00")
CRITICAL_COLOUR = colors.HexColor("#b71c1c")
BASELINE_COLOUR = colors.HexColor("#424242")
BAND_COLOUR = colors.Color(0.30, 0.69, 0.31, alpha=0.18)
GAP_COLOUR = colors.Color(0.55, 0.55, 0.55, alpha=0.35)
GRID_COLOUR = colors.HexColor("#d0d0d0")
#: Alarm starts are marked on every chart's top edge in their priority's colour.
ALARM_COLOURS = {
    "high": colors.HexColor("#d50000"),
    "medium": colors.HexColor("#ffab00"),
    "low": colors.HexColor("#00b8d4"),
}


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """Maps times to x positions inside a chart's plot area."""

    start: datetime
    end: datetime
    left: float
    width: float
    zone: tzinfo

    def x(self, at: datetime) -> float:
        """The x position of ``at`` (clamped to the plot area)."""
        span = (self.end - self.start).total_seconds() or 1.0
        frac = (at - self.start).total_seconds() / span
        return self.left + self.width * min(1.0, max(0.0, frac))

    def ticks(self) -> list[datetime]:
        """Round clock times across the axis, about one per inch (whole days on a very long axis)."""
        span_min = (self.end - self.start).total_seconds() / 60
        wanted = max(2.0, self.width / 72)
        steps = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720)
        step = next((s for s in steps if span_min / s <= wanted), 0)
        if not step:
            step = 1440 * math.ceil(span_min / wanted / 1440)
        local = self.start.astimezone(self.zone)
        first = local.replace(second=0, microsecond=0)
        first -= timedelta(minutes=(first.hour * 60 + first.minute) % min(step, 1440))
        out = []
        at = first
        while at <= self.end:
            if at >= self.start:
                out.append(at)
            at += timedelta(minutes=step)
        return out

    def label(self, at: datetime) -> str:
        """A tick's text: the clock time, with the date when the axis spans more than a day."""
        fmt = "%H:%M" if self.end - self.start <= timedelta(days=1) else "%m-%d %H:%M"
        return at.astimezone(self.zone).strftime(fmt)


@dataclass(frozen=True, slots=True)
class StepLine:
    """A threshold's value over time: (from, value) pairs, each in force until the next."""

    label: str
    colour: colors.Color
    steps: tuple[tuple[datetime, float | None], ...]
    dash: tuple[float, float] = (4, 2)


def threshold_steps(record: FullSessionRecord, field: str) -> tuple[tuple[datetime, float | None], ...]:
    """A threshold field over the session: each confirmed set, then every change to it (THR-5)."""
    events: list[tuple[datetime, int, float | None]] = []
    for n, ts in enumerate(record.threshold_sets):
        events.append((ts.confirmed_at, n, getattr(ts, field)))
    for n, change in enumerate(record.threshold_changes):
        if change.field == field:
            events.append((change.at, len(record.threshold_sets) + n, change.new))
    events.sort(key=lambda e: (e[0], e[1]))
    return tuple((at, value) for at, _n, value in events)


def segments(
    observations: Iterable[Observation], kind: VitalKind, max_gap_s: float
) -> list[list[Observation]]:
    """Runs of valid values of ``kind`` with no invalid value and no gap over ``max_gap_s`` inside."""
    runs: list[list[Observation]] = []
    current: list[Observation] = []
    for obs in observations:
        if obs.kind is not kind:
            continue
        if not obs.is_valid:
            if current:
                runs.append(current)
            current = []
            continue
        if current and (obs.measured_at - current[-1].measured_at).total_seconds() > max_gap_s:
            runs.append(current)
            current = []
        current.append(obs)
    if current:
        runs.append(current)
    return runs


def _thin(run: Sequence[Observation], axis: TimeAxis) -> list[tuple[float, float]]:
    """(x, value) points of a run, at most a min and a max per bucket, in time order."""
    points: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    bucket_no = None
    for obs in run:
        x = axis.x(obs.measured_at)
        no = int((x - axis.left) / BUCKET_PT)
        if no != bucket_no and bucket:
            points.extend(_min_max(bucket))
            bucket = []
        bucket_no = no
        assert obs.value is not None
        bucket.append((x, obs.value))
    if bucket:
        points.extend(_min_max(bucket))
    return points


def _min_max(bucket: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(bucket) <= 2:
        return bucket
    low = min(bucket, key=lambda p: p[1])
    high = max(bucket, key=lambda p: p[1])
    return sorted({low, high}, key=lambda p: p[0])


@dataclass
class _Chart:
    """One chart's frame: plot area and value range."""

    axis: TimeAxis
    bottom: float
    height: float
    low: float
    high: float

    def y(self, value: float) -> float:
        frac = (value - self.low) / ((self.high - self.low) or 1.0)
        return self.bottom + self.height * min(1.0, max(0.0, frac))


def _nice_range(
    values: Iterable[float | None], low: float, high: float, step: float, possible: tuple[float, float]
) -> tuple[float, float]:
    """A value axis from ``low`` to ``high`` widened to hold ``values``, never beyond ``possible``.

    A value outside the clinic's possible range (``possible_ranges``) is a data error: it is drawn
    at the chart's edge rather than stretching the axis until the real readings are a flat line.
    """
    lo_possible, hi_possible = possible
    vals = [v for v in values if v is not None and math.isfinite(v) and lo_possible <= v <= hi_possible]
    if vals:
        # A whole step clear of every value, so a threshold never hides under the chart's frame.
        low = min(low, (math.ceil(min(vals) / step) - 1) * step)
        high = max(high, (math.floor(max(vals) / step) + 1) * step)
    return max(low, math.floor(lo_possible / step) * step), min(high, math.ceil(hi_possible / step) * step)


def _frame(  # noqa: PLR0917 (one chart's parts, always passed together)
    group: Group, chart: _Chart, title: str, unit: str, step: float, record: FullSessionRecord
) -> None:
    axis = chart.axis
    top = chart.bottom + chart.height
    for gap in record.monitoring_gaps:
        x0, x1 = axis.x(gap.since), axis.x(gap.until)
        group.add(
            Rect(x0, chart.bottom, max(x1 - x0, 1.5), chart.height, fillColor=GAP_COLOUR, strokeColor=None)
        )
        if x1 - x0 > 40:
            group.add(
                String((x0 + x1) / 2, chart.bottom + 3, "not monitored", fontSize=6.5, textAnchor="middle")
            )
    value = math.ceil(chart.low / step) * step
    while value <= chart.high + 1e-9:
        y = chart.y(value)
        group.add(Line(axis.left, y, axis.left + axis.width, y, strokeColor=GRID_COLOUR, strokeWidth=0.4))
        group.add(String(axis.left - 3, y - 2.5, f"{value:g}", fontSize=7, textAnchor="end"))
        value += step
    for tick in axis.ticks():
        x = axis.x(tick)
        group.add(Line(x, chart.bottom, x, top, strokeColor=GRID_COLOUR, strokeWidth=0.4))
        group.add(
            String(
                x,
                chart.bottom - 9,
                axis.label(tick),
                fontSize=7,
                textAnchor="middle",
            )
        )
    for transition in record.phase_transitions:
        x = axis.x(transition.at)
        group.add(
            Line(
                x,
                chart.bottom,
                x,
                top,
                strokeColor=colors.HexColor("#455a64"),
                strokeWidth=0.6,
                strokeDashArray=[1, 2],
            )
        )
        # Near the right edge the label goes left of its line, so it stays inside the chart.
        right = x > axis.left + axis.width - 45
        group.add(
            String(
                x - 1.5 if right else x + 1.5,
                top - 8,
                transition.to_phase,
                fontSize=6.5,
                fillColor=colors.HexColor("#455a64"),
                textAnchor="end" if right else "start",
            )
        )
    for alarm in record.alarm_events:
        if alarm.kind != "started":
            continue
        x = axis.x(alarm.at)
        colour = ALARM_COLOURS.get(alarm.priority, ALARM_COLOURS["low"])
        group.add(
            Polygon([x - 3, top + 0.5, x + 3, top + 0.5, x, top - 5], fillColor=colour, strokeColor=None)
        )
    group.add(
        Rect(
            axis.left,
            chart.bottom,
            axis.width,
            chart.height,
            fillColor=None,
            strokeColor=colors.black,
            strokeWidth=0.6,
        )
    )
    group.add(String(axis.left, top + 4, _title(title, unit), fontName="Helvetica-Bold", fontSize=9))


def _title(title: str, unit: str) -> str:
    return f"{title} ({unit})"


def _legend_x(axis: TimeAxis, title: str, unit: str) -> float:
    """Where a chart's legend starts: just right of its title."""
    return axis.left + float(stringWidth(_title(title, unit), "Helvetica-Bold", 9)) + 18


def _step_lines(group: Group, chart: _Chart, lines: Sequence[StepLine], end: datetime) -> None:
    for line in lines:
        steps = line.steps
        for n, (since, value) in enumerate(steps):
            until = steps[n + 1][0] if n + 1 < len(steps) else end
            if value is None or until <= since:
                continue
            y = chart.y(value)
            group.add(
                Line(
                    chart.axis.x(since),
                    y,
                    chart.axis.x(until),
                    y,
                    strokeColor=line.colour,
                    strokeWidth=1.0,
                    strokeDashArray=list(line.dash),
                )
            )


def _legend(group: Group, x: float, y: float, items: Sequence[tuple[str, colors.Color, bool]]) -> None:
    for label, colour, dashed in items:
        group.add(
            Line(
                x,
                y + 2.5,
                x + 14,
                y + 2.5,
                strokeColor=colour,
                strokeWidth=1.4,
                strokeDashArray=[4, 2] if dashed else None,
            )
        )
        group.add(String(x + 17, y, label, fontSize=7))
        x += 26 + float(stringWidth(label, "Helvetica", 7))


def _line_series(  # noqa: PLR0917
    group: Group,
    chart: _Chart,
    record: FullSessionRecord,
    kind: VitalKind,
    colour: colors.Color,
    max_gap_s: float,
) -> None:
    for run in segments(record.observations, kind, max_gap_s):
        points = _thin(run, chart.axis)
        if len(points) == 1:
            x, v = points[0]
            group.add(Rect(x - 0.8, chart.y(v) - 0.8, 1.6, 1.6, fillColor=colour, strokeColor=None))
            continue
        flat: list[float] = []
        for x, v in points:
            flat += [x, chart.y(v)]
        group.add(PolyLine(flat, strokeColor=colour, strokeWidth=0.9))


def nibp_readings(record: FullSessionRecord) -> list[NibpReading]:
    """The session's NIBP cycles as the clinical engine assembles them (one rule, one home)."""
    assembler = NibpAssembler()
    readings = assembler.add_all(record.observations) + assembler.flush()
    return sorted(readings, key=lambda r: r.measured_at)


def trend_drawing(
    record: FullSessionRecord, config: ClinicalConfig, zone: tzinfo, width: float, chart_height: float = 118
) -> Drawing:
    """The three trend charts, stacked, sharing one time axis."""
    start = record.session.started_at
    times = [o.measured_at for o in record.observations] + [g.until for g in record.monitoring_gaps]
    end = max([record.session.ended_at or start, *times]) if times or record.session.ended_at else start
    if end - start < timedelta(minutes=5):
        end = start + timedelta(minutes=5)
    left = 34.0
    axis = TimeAxis(start, end, left, width - left - 6, zone)
    max_gap_s = config.monitoring.stale_after_s
    block = chart_height + 44
    drawing = Drawing(width, 3 * block)
    group = Group()
    drawing.add(group)

    # NIBP (bottom), pulse (middle), SpO2 (top): drawn bottom up.
    readings = nibp_readings(record)
    baselines = record.baselines
    sys_ceiling = threshold_steps(record, "systolic_ceiling")
    dia_ceiling = threshold_steps(record, "diastolic_ceiling")
    hypo_floor = threshold_steps(record, "hypotension_floor")
    bp_values = [v for r in readings if r.is_valid for v in (r.systolic, r.diastolic) if v is not None]
    bp_values += [v for _a, v in (*sys_ceiling, *dia_ceiling, *hypo_floor) if v is not None]
    band_tops = _band(record)
    bp_values += [hi for _s, _u, _lo, hi in band_tops]
    low, high = _nice_range(
        bp_values, 60, 160, 20, _possible(config, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_SYSTOLIC)
    )
    nibp = _Chart(axis, 18, chart_height, low, high)
    _frame(group, nibp, "NIBP", "mmHg", 20, record)
    for since, until, lo, hi in band_tops:
        x0, x1 = axis.x(since), axis.x(until)
        group.add(
            Rect(x0, nibp.y(lo), x1 - x0, nibp.y(hi) - nibp.y(lo), fillColor=BAND_COLOUR, strokeColor=None)
        )
    for n, baseline in enumerate(baselines):
        if baseline.systolic is None:
            continue
        until = baselines[n + 1].confirmed_at if n + 1 < len(baselines) else end
        y = nibp.y(baseline.systolic)
        group.add(
            Line(
                axis.x(baseline.confirmed_at),
                y,
                axis.x(until),
                y,
                strokeColor=BASELINE_COLOUR,
                strokeWidth=1.2,
            )
        )
    _step_lines(
        group,
        nibp,
        [
            StepLine("systolic ceiling", CEILING_COLOUR, sys_ceiling),
            StepLine("diastolic ceiling", FLOOR_COLOUR, dia_ceiling, (2, 2)),
            StepLine("hypotension floor", HR_COLOUR, hypo_floor),
        ],
        end,
    )
    for reading in readings:
        x = axis.x(reading.measured_at)
        if not reading.is_valid:
            group.add(String(x, nibp.bottom + 3, "x", fontSize=7, fillColor=colors.grey, textAnchor="middle"))
            continue
        assert reading.systolic is not None and reading.diastolic is not None
        ys, yd = nibp.y(reading.systolic), nibp.y(reading.diastolic)
        group.add(Line(x, yd, x, ys, strokeColor=BP_COLOUR, strokeWidth=1.1))
        group.add(Line(x - 2.2, ys, x + 2.2, ys, strokeColor=BP_COLOUR, strokeWidth=1.3))
        group.add(Line(x - 2.2, yd, x + 2.2, yd, strokeColor=BP_COLOUR, strokeWidth=1.3))
        if reading.mean is not None:
            ym = nibp.y(reading.mean)
            group.add(Rect(x - 1.1, ym - 1.1, 2.2, 2.2, fillColor=BP_COLOUR, strokeColor=None))
    _legend(
        group,
        _legend_x(axis, "NIBP", "mmHg"),
        nibp.bottom + chart_height + 4,
        [
            ("sys-dia, mean dot", BP_COLOUR, False),
            ("baseline sys", BASELINE_COLOUR, False),
            ("expected rise", colors.HexColor("#81c784"), False),
            ("sys ceiling", CEILING_COLOUR, True),
            ("dia ceiling", FLOOR_COLOUR, True),
            ("hypotension", HR_COLOUR, True),
        ],
    )

    pulse_bottom = 18 + block
    pulse_floor = threshold_steps(record, "pulse_floor")
    pulse_ceiling = threshold_steps(record, "pulse_ceiling")
    rate_values = [
        o.value
        for o in record.observations
        if o.is_valid and o.kind in (VitalKind.PULSE_RATE, VitalKind.HEART_RATE) and o.value is not None
    ]
    rate_values += [v for _a, v in (*pulse_floor, *pulse_ceiling) if v is not None]
    low, high = _nice_range(
        rate_values, 40, 120, 20, _possible(config, VitalKind.PULSE_RATE, VitalKind.HEART_RATE)
    )
    rate = _Chart(axis, pulse_bottom, chart_height, low, high)
    _frame(group, rate, "Pulse and heart rate", "/min", 20, record)
    _step_lines(
        group,
        rate,
        [
            StepLine("pulse floor", FLOOR_COLOUR, pulse_floor),
            StepLine("pulse ceiling", CEILING_COLOUR, pulse_ceiling),
        ],
        end,
    )
    _line_series(group, rate, record, VitalKind.PULSE_RATE, PULSE_COLOUR, max_gap_s)
    _line_series(group, rate, record, VitalKind.HEART_RATE, HR_COLOUR, max_gap_s)
    _legend(
        group,
        _legend_x(axis, "Pulse and heart rate", "/min"),
        rate.bottom + chart_height + 4,
        [
            ("pulse (oximeter)", PULSE_COLOUR, False),
            ("heart rate (ECG)", HR_COLOUR, False),
            ("floor", FLOOR_COLOUR, True),
            ("ceiling", CEILING_COLOUR, True),
        ],
    )

    spo2_floor = threshold_steps(record, "spo2_floor")
    spo2_critical = threshold_steps(record, "spo2_critical_floor")
    spo2_values = [
        o.value
        for o in record.observations
        if o.is_valid and o.kind is VitalKind.SPO2 and o.value is not None
    ]
    spo2_values += [v for _a, v in (*spo2_floor, *spo2_critical) if v is not None]
    low, _high = _nice_range(spo2_values, 84, 100, 4, _possible(config, VitalKind.SPO2))
    spo2 = _Chart(axis, 18 + 2 * block, chart_height, low, 100)
    _frame(group, spo2, "SpO2", "%", 4, record)
    _step_lines(
        group,
        spo2,
        [
            StepLine("floor", FLOOR_COLOUR, spo2_floor),
            StepLine("critical", CRITICAL_COLOUR, spo2_critical, (1.5, 1.5)),
        ],
        end,
    )
    _line_series(group, spo2, record, VitalKind.SPO2, SPO2_COLOUR, max_gap_s)
    _legend(
        group,
        _legend_x(axis, "SpO2", "%"),
        spo2.bottom + chart_height + 4,
        [
            ("SpO2", SPO2_COLOUR, False),
            ("floor", FLOOR_COLOUR, True),
            ("critical floor", CRITICAL_COLOUR, True),
            ("not monitored", GAP_COLOUR, False),
            ("alarm started", ALARM_COLOURS["high"], False),
        ],
    )
    return drawing


def _possible(config: ClinicalConfig, *kinds: VitalKind) -> tuple[float, float]:
    ranges = [config.possible_ranges[kind] for kind in kinds if kind in config.possible_ranges]
    if not ranges:
        return (0.0, 400.0)
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


def _band(record: FullSessionRecord) -> list[tuple[datetime, datetime, float, float]]:
    """The expected-rise band over time: baseline systolic x the set's factors, from when both exist."""
    start = record.session.started_at
    times = [o.measured_at for o in record.observations]
    end = max([record.session.ended_at or start, *times])
    moments = sorted(
        {b.confirmed_at for b in record.baselines} | {t.confirmed_at for t in record.threshold_sets}
    )
    out = []
    for n, since in enumerate(moments):
        until = moments[n + 1] if n + 1 < len(moments) else end
        baseline = next((b for b in reversed(record.baselines) if b.confirmed_at <= since), None)
        thresholds: ThresholdSetRecord | None = next(
            (t for t in reversed(record.threshold_sets) if t.confirmed_at <= since), None
        )
        if baseline is None or thresholds is None or baseline.systolic is None:
            continue
        low, high = thresholds.expected_rise_low, thresholds.expected_rise_high
        if low is None or high is None or until <= since:
            continue
        out.append((since, until, baseline.systolic * low, baseline.systolic * high))
    return out
