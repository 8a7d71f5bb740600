"""Exporting an 8-hour session (1 Hz SpO2 and pulse, NIBP every 5 min) to PDF and to CSV (EXP-1).

Goal: the PDF in under 3 s. Times include reading the record from a SQLite file. The FHIR bundle
is timed at its default charting interval (one SpO2/rate value per minute, every NIBP cycle).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bedside.workflow import export_session
from storage import SessionRepository, open_database
from storage.full_record import write_full_record
from tests.workflow.sample_session import sample_record


def run(hours: float = 8.0) -> dict[str, float]:
    record = sample_record(hours=hours)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/bench.sqlite3")
        try:
            write_full_record(db, record)
            repo = SessionRepository(db)
            sid = record.session.session_id
            t0 = time.perf_counter()
            pdf = export_session(repo, sid, "pdf", Path(tmp) / "s.pdf")
            t1 = time.perf_counter()
            csv = export_session(repo, sid, "csv", Path(tmp) / "s.csv")
            t2 = time.perf_counter()
            export_session(repo, sid, "fhir", Path(tmp) / "s.fhir.json")
            t3 = time.perf_counter()
            pdf_kb, csv_kb = pdf.stat().st_size / 1024, csv.stat().st_size / 1024
        finally:
            db.close()
    return {
        "hours": hours,
        "observations": float(len(record.observations)),
        "pdf_s": t1 - t0,
        "pdf_kb": pdf_kb,
        "csv_s": t2 - t1,
        "csv_kb": csv_kb,
        "fhir_per_minute_s": t3 - t2,
    }


if __name__ == "__main__":
    figures = run()
    print("8-hour session export: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
