"""Transports: byte movers (serial ports, MLLP over TCP). They know nothing of meaning."""

from __future__ import annotations

from drivers.transports.base import DeviceLink, EventSink, ResultSink

__all__ = ["DeviceLink", "EventSink", "ResultSink"]
