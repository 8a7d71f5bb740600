"""`bedside decode` prints one JSON object per observation and a summary on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedside.cli.main import main
from bedside.monitor.decode import frame_plain_hl7


@pytest.mark.req("MON-6")
def test_decode_ivy_capture_prints_values_and_a_frame_summary(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["decode", "--driver", "ivy-ansar", str(fixtures_dir / "ivy" / "ivy450c-ansar-b.bin")])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 0
    nibp = [(r["kind"], r["value"]) for r in rows if r["kind"].startswith("nibp")]
    assert nibp == [("nibp_systolic", 121.0), ("nibp_diastolic", 75.0), ("nibp_mean", 92.0)]
    assert {r["value"] for r in rows if r["kind"] == "spo2"} == {100.0}
    assert all(r["unit"] and r["quality"] and r["source"] and r["measured_at"] for r in rows)
    assert "frames read 27, frames rejected 0" in err


@pytest.mark.req("MON-6")
def test_decode_plain_hl7_file_and_report_rejections(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ipf = fixtures_dir / "hl7" / "ipf"
    assert main(["decode", "--driver", "hl7-pcd01", str(ipf / "valid-bp-continua-wan.hl7v2")]) == 0
    out, _ = capsys.readouterr()
    values = {json.loads(line)["kind"]: json.loads(line)["value"] for line in out.splitlines()}
    assert values == {"nibp_systolic": 120.0, "nibp_diastolic": 80.0, "nibp_mean": 100.0}
    assert main(["decode", "--driver", "hl7-pcd01", str(ipf / "invalid-wan-response.hl7v2")]) == 1
    _, err = capsys.readouterr()
    assert "frames rejected 1" in err


def test_plain_hl7_messages_are_each_framed_once() -> None:
    framed = frame_plain_hl7(b"MSH|a\nPID|b\n\nMSH|c\r\nOBX|d\n")
    assert framed == b"\x0bMSH|a\rPID|b\r\x1c\r\x0bMSH|c\rOBX|d\r\x1c\r"
    assert frame_plain_hl7(framed) == framed


def test_decode_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["decode", "--driver", "masimo-ascii", str(tmp_path / "nope.txt")]) == 2
    assert "no such file" in capsys.readouterr().err
