"""The session screens (issue 10): sign-in to discharge, follow-up, export, settings and drills.

One module per screen; each shows Qt-free services from ``bedside.workflow`` and decides nothing.
``hub.SessionScreens`` holds them; the monitor window's Session menu opens them.
"""

from __future__ import annotations
