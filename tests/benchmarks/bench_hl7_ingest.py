"""HL7 ingest (issue 11): messages/s for Bedside's ER7 path against plain hl7apy and python-hl7 on
the same messages in the same run, the worst single inputs within the size cap, and a gateway's
ACK time while other senders attack the listener (loopback only, bounded).

Figures:
- ``ours_per_s``: parse + ACK through ``Hl7Pcd01Driver`` (the ER7 walk);
  ``ours_store_per_s``: the same plus every observation written to SQLite through StorageWriter;
  ``hl7apy_path_per_s``: the driver reading its groups through hl7apy's grammar (the old path);
  ``hl7apy_per_s``: plain ``hl7apy.parser.parse_message(find_groups=True)``;
  ``python_hl7_per_s``: ``hl7.parse`` + ``create_ack``; ``speedup_vs_hl7apy`` is ours / plain hl7apy.
- ``<input>_median_ms`` / ``_max_ms``: handling one hostile input (198 OBX rows 22 KB, 3,800
  component separators 7.8 KB, a 60 KB field), the median of repeated runs (the input's cost)
  and the slowest run (plus whatever else the machine did meanwhile); ``mutated_*``: the slowest
  of 2,000 mutated messages; ``rows_scaling_time`` is 198 rows' time over 99 rows' and
  ``rows_scaling_calls`` the same ratio of function calls made (2 when linear).
- ``ack_<attack>_p50_ms`` / ``_p99_ms``: a well-formed gateway's message -> ACK round trip while
  the listener is under slowloris, idle lock-out, a 200-connection flood, mutated messages or a
  fast sender (``ack_none_*`` with no attack).

Side by side (issue 11: the listener before and after a change, in the same run, attack by
attack, alternating which goes first; ``load_<attack>`` is the 1-minute load average as the
attack began, the median over ``--rounds``)::

    PYTHONPATH=. .venv/bin/python -m tests.benchmarks.bench_hl7_ingest \\
        --attacks --reference REV --rounds 5 [--core] [--switch-interval S]

``--reference REV`` loads the listener of git revision REV (``drivers/transports/mllp.py`` only)
beside this tree's and reports ``ack_<attack>_<new|old>_p50_ms`` etc. (with ``--core`` also
``new_keep_interval``: this tree's listener leaving the switch interval as it was); ``--core``
hands results to a MonitorCore with the clinical engine pumped on its own thread, as the app's
window does, so the listener thread competes for the interpreter lock as it does in the app;
``--switch-interval`` sets that process's ``sys.setswitchinterval`` (how long a thread may hold
the lock when another wants it; Python's default is 5 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from drivers.clock import FakeClock, SystemClock
from drivers.hl7.hl7apy_reader import hl7apy_orders
from drivers.hl7_pcd01 import Hl7Pcd01Driver
from drivers.mllp import frame
from drivers.transports.mllp import MllpLimits, MllpListener, MllpSender, MllpSendError
from drivers.types import DecodeResult, DeviceEvent
from simulators.encoders.hl7 import Hl7Pcd01Encoder
from simulators.model import NibpSnapshot, VitalsSnapshot

IPF = Path(__file__).parent.parent / "fixtures" / "hl7" / "ipf"
IPF_RESULTS = sorted(p for p in IPF.glob("valid-*") if "response" not in p.name)
GATEWAY = "127.0.0.2"
ROOT = Path(__file__).resolve().parents[2]


class Stopper(Protocol):
    """A threading or multiprocessing event."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def corpus() -> list[bytes]:
    """The same messages for every parser: the IPF results and the simulator's (all v2.6)."""
    messages = [p.read_bytes().replace(b"\r\n", b"\r") for p in IPF_RESULTS]
    encoder = Hl7Pcd01Encoder()
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    for n in range(20):
        snap = VitalsSnapshot(
            at=start + timedelta(seconds=5 * n),
            spo2=95.0 + n % 4,
            pulse_rate=70.0 + n,
            heart_rate=71.0 + n,
            perfusion_index=2.5,
            nibp=NibpSnapshot(120.0 + n, 80.0, 93.0, start),
        )
        messages.append(encoder.encode(snap)[1:-2])
    return messages


def _row(n: int) -> str:
    return (
        f"OBX|{n}|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.{n}|97|262688^MDC_DIM_PERCENT^MDC"
        f"|||||F|||20260105101455+0000"
    )


_HEAD = (
    "MSH|^~\\&|MON^0011223344556677^EUI-64||||20260105101500+0000||ORU^R01^ORU_R01|W1|P|2.6|||NE|AL\r"
    "PID|||42^^^Clinic^PI\r"
    "OBR|1|1^MON|1^MON|182777000^monitoring of patient^SNOMED-CT|||20260105101000+0000\r"
)


def rows_message(rows: int) -> bytes:
    """A message with ``rows`` vital OBX rows (198 rows is about 17.7 KB)."""
    return (_HEAD + "\r".join(_row(n) for n in range(1, rows + 1))).encode()


def components_message(separators: int = 3800) -> bytes:
    """A message whose OBX-3 carries ``separators`` component separators (about 8.4 KB at 3,800)."""
    return (_HEAD + "OBX|1|NM|" + "1^" * separators + "|1.1.1.1|97|%|||||F").encode()


def big_field_message(size: int = 60_000) -> bytes:
    """A message with one 60 KB OBX-5 (inside the 64 KB cap)."""
    return (_HEAD + "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|" + "9" * size + "|%|||||F").encode()


def mutated_messages(count: int = 2000, seed: int = 11) -> Iterator[bytes]:
    """Deterministic byte-level mutations of the IPF results (flips, inserts, deletes)."""
    rng = random.Random(seed)
    bases = [p.read_bytes() for p in IPF_RESULTS]
    alphabet = b"|^~\\&\r\n0123456789ABCXYZ.+- \x00\xff"
    for _ in range(count):
        raw = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(raw))
            op = rng.random()
            if op < 0.4:
                raw[pos] = rng.choice(alphabet)
            elif op < 0.7:
                raw[pos:pos] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
            else:
                del raw[pos : pos + rng.randint(1, 30)]
        yield bytes(raw).replace(b"\x0b", b"").replace(b"\x1c", b"")


def _rate(messages: list[bytes], handle: Callable[[bytes], object], seconds: float) -> float:
    """Messages per second over whole passes of ``messages`` for at least ``seconds``."""
    done = 0
    began = time.perf_counter()
    while True:
        for message in messages:
            handle(message)
        done += len(messages)
        elapsed = time.perf_counter() - began
        if elapsed >= seconds:
            return done / elapsed


def ingest_rates(seconds: float = 2.0) -> dict[str, float]:
    """Parse + ACK rates for each library on the same corpus."""
    import hl7
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message

    messages = corpus()
    stamp = FakeClock().stamp()
    ours = Hl7Pcd01Driver("bench")
    old = Hl7Pcd01Driver("bench", order_reader=hl7apy_orders)
    texts = [m.decode("latin-1") for m in messages]
    figures = {
        "ours_per_s": _rate(messages, lambda m: ours.feed(frame(m), stamp), seconds),
        "hl7apy_path_per_s": _rate(messages, lambda m: old.feed(frame(m), stamp), seconds),
        "hl7apy_per_s": _rate(
            messages,
            lambda m: parse_message(
                m.decode("latin-1"), validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True
            ),
            seconds,
        ),
        "python_hl7_per_s": _rate(
            [t.encode("latin-1") for t in texts],
            lambda m: hl7.parse(m.decode("latin-1")).create_ack("AA"),
            seconds,
        ),
    }
    figures["speedup_vs_hl7apy"] = figures["ours_per_s"] / figures["hl7apy_per_s"]
    figures["ours_store_per_s"] = _store_rate(messages, seconds)
    return figures


def _store_rate(messages: list[bytes], seconds: float) -> float:
    """Parse + ACK + every observation written to SQLite through the StorageWriter."""
    from storage import ObservationRecord, SessionRepository, StorageWriter, open_database

    clock = FakeClock()
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        session = SessionRepository(db).create_session(clinician="bench", started_at=clock.now())
        writer = StorageWriter(db, clock, on_failure=lambda failure: None, max_pending=1_000_000)
        driver = Hl7Pcd01Driver("bench")
        stamp = clock.stamp()

        def handle(message: bytes) -> None:
            for obs in driver.feed(frame(message), stamp).observations:
                writer.put(ObservationRecord(session.session_id, obs))

        done = 0
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            for message in messages:
                handle(message)
            done += len(messages)
        if not writer.flush(timeout=120):
            raise RuntimeError("the storage writer did not finish")
        elapsed = time.perf_counter() - began
        writer.close()
        db.close()
    return done / elapsed


def _times_ms(message: bytes, repeats: int) -> list[float]:
    """Milliseconds to handle (parse + ACK) ``message`` in a fresh driver, ``repeats`` times."""
    stamp = FakeClock().stamp()
    times: list[float] = []
    for _ in range(repeats):
        driver = Hl7Pcd01Driver("bench")
        began = time.perf_counter()
        result = driver.feed(frame(message), stamp)
        times.append((time.perf_counter() - began) * 1000)
        if len(result.replies) != 1:
            raise RuntimeError("a worst-case input did not get exactly one ACK")
    return times


def worst_cases(repeats: int = 20, mutated: int = 2000) -> dict[str, float]:
    """Each hostile input's cost (median of ``repeats`` runs: what the input costs) and its
    slowest run (which also holds whatever else the machine was doing), in milliseconds."""
    figures: dict[str, float] = {}
    for name, message in (
        ("rows198", rows_message(198)),
        ("components3800", components_message(3800)),
        ("field60k", big_field_message(60_000)),
    ):
        times = _times_ms(message, repeats)
        figures[f"{name}_median_ms"] = statistics.median(times)
        figures[f"{name}_max_ms"] = max(times)
    # Mutated: time each once, then the ten slowest again; the worst median is the worst input.
    once = sorted(((_times_ms(m, 1)[0], m) for m in mutated_messages(mutated)), key=lambda t: -t[0])
    figures["mutated_max_ms"] = once[0][0]
    figures["mutated_worst_median_ms"] = max(statistics.median(_times_ms(m, 5)) for _, m in once[:10])
    # The fastest runs: the least disturbed by the rest of the machine; still noisy on a busy one,
    # so the count of calls (exact) is reported beside it.
    half = min(_times_ms(rows_message(99), repeats))
    full = min(_times_ms(rows_message(198), repeats))
    figures["rows_scaling_time"] = full / half
    figures["rows_scaling_calls"] = python_calls(rows_message(198)) / python_calls(rows_message(99))
    return figures


def python_calls(raw: bytes) -> int:
    """Python and C function calls made handling one message: a count, free of a clock's noise."""
    calls = 0

    def count(frame_: object, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    driver = Hl7Pcd01Driver("bench")
    stamp = FakeClock().stamp()
    sys.setprofile(count)
    try:
        driver.feed(frame(raw), stamp)
    finally:
        sys.setprofile(None)
    return calls


# -- ACK time under attack -------------------------------------------------------------------------


def _connect(port: int, source: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5.0, source_address=(source, 0))


def _attack(name: str, port: int, stop: Stopper) -> list[multiprocessing.process.BaseProcess]:
    """Processes that attack the listener until ``stop`` is set (their own processes, as real
    attackers are: threads here would compete with the listener for the interpreter lock)."""
    bp = IPF_RESULTS[0].read_bytes()

    def slowloris() -> None:
        socks = [_connect(port, f"127.0.0.{30 + n % 4}") for n in range(16)]
        block = frame(bp)
        i = 0
        while not stop.wait(0.05):
            for s in socks:
                with contextlib.suppress(OSError):
                    s.send(block[i % len(block) : i % len(block) + 1])
            i += 1
        for s in socks:
            s.close()

    def idle() -> None:
        socks = []
        for n in range(32):
            with contextlib.suppress(OSError):
                socks.append(_connect(port, f"127.0.0.{40 + n % 8}"))
        stop.wait()
        for s in socks:
            s.close()

    def flood() -> None:
        n = 0
        held: list[socket.socket] = []
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(_connect(port, f"127.0.0.{50 + n % 8}"))
            n += 1
            if len(held) >= 200:
                for s in held:
                    s.close()
                held.clear()
        for s in held:
            s.close()

    def mutated() -> None:
        blocks = [frame(m) for m in mutated_messages(400, seed=3)]
        with _connect(port, "127.0.0.60") as s:
            s.settimeout(0.01)
            i = 0
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    s.sendall(blocks[i % len(blocks)])
                    s.recv(65536)
                i += 1

    def fast() -> None:
        burst = frame(bp) * 200
        with _connect(port, "127.0.0.70") as s:
            s.settimeout(0.01)
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    s.sendall(burst)
                with contextlib.suppress(OSError):
                    while s.recv(1 << 20):
                        pass

    targets: dict[str, list[Callable[[], None]]] = {
        "none": [],
        "slowloris": [slowloris],
        "idle": [idle],
        "flood": [flood],
        "mutated": [mutated, mutated],
        "fast": [fast],
    }
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=t, daemon=True) for t in targets[name]]
    for p in processes:
        p.start()
    return processes


def _gateway(port: int, messages: int, results: multiprocessing.connection.Connection) -> None:
    """A well-formed gateway in its own process (as on its own machine): sends ``messages`` one
    after another and reports each round trip's seconds and how many got no ACK."""
    bp = IPF_RESULTS[0].read_bytes()
    latencies: list[float] = []
    unanswered = 0
    with MllpSender(
        "127.0.0.1",
        port,
        SystemClock(),
        connect_timeout_s=2.0,
        ack_timeout_s=5.0,
        source_address=(GATEWAY, 0),
    ) as gateway:
        for n in range(messages):
            message = bp.replace(b"MSGID1234", f"G{n}".encode())
            began = time.perf_counter()
            try:
                ack = gateway.send(message)
            except MllpSendError:
                unanswered += 1
                continue
            latencies.append(time.perf_counter() - began)
            if b"MSA|AA|" not in ack:
                unanswered += 1
            time.sleep(0.002)
    results.send((latencies, unanswered))
    results.close()


def reference_listener(revision: str) -> type[MllpListener]:
    """``MllpListener`` as it was at git ``revision`` (only the transport module is taken from
    there; the driver and framer are this tree's), to measure a change side by side."""
    text = subprocess.run(
        ["git", "show", f"{revision}:drivers/transports/mllp.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    name = "_bench_reference_mllp"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    exec(compile(text, f"{revision}:drivers/transports/mllp.py", "exec"), module.__dict__)
    listener: type[MllpListener] = module.MllpListener
    return listener


class CoreConsumer:
    """The app's consumer: a MonitorCore with the clinical engine, pumped on its own thread when
    woken (as the window's thread is), so the listener competes for the interpreter lock."""

    def __init__(self) -> None:
        from alarms import load_config
        from bedside.monitor.core import MonitorCore
        from bedside.workflow.clinical import ClinicalSession

        clock = SystemClock()
        self.core = MonitorCore(clock)
        clinical = ClinicalSession(
            clock,
            load_config(),
            session_id="bench",
            record=lambda item: None,
            nibp_link_send=None,
            nibp_start_command=None,
        )
        self.core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
        self.pumped = 0
        self._woken = threading.Event()
        self._stop = threading.Event()
        self.core.set_waker(self._woken.set)
        self._thread = threading.Thread(target=self._run, name="bench-pump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._woken.wait(0.05):
                self._woken.clear()
                self.pumped += self.core.pump().observations

    def on_result(self, result: DecodeResult) -> None:
        """The listener's result sink."""
        self.core.on_result(result, "bench")

    def on_event(self, event: DeviceEvent) -> None:
        """The listener's event sink."""
        self.core.on_event(event)

    def stop(self) -> None:
        """Stop pumping."""
        self._stop.set()
        self._thread.join(5.0)


def ack_latencies(
    attack: str,
    messages: int = 200,
    failures: list[int] | None = None,
    listener_class: type[MllpListener] = MllpListener,
    core: bool = False,
    listener_options: dict[str, object] | None = None,
) -> list[float]:
    """Seconds from a gateway's send to its ACK, for ``messages`` sent one after another, with
    the listener in this process (as in the app) and the gateway and attackers in their own;
    sends that got no ACK at all are counted in ``failures[0]``. ``core``: results go to a
    pumped MonitorCore (``CoreConsumer``) instead of nowhere."""
    failures = failures if failures is not None else [0]
    context = multiprocessing.get_context("fork")
    consumer = CoreConsumer() if core else None
    listener = listener_class(
        "bench",
        Hl7Pcd01Driver,
        SystemClock(),
        consumer.on_result if consumer else lambda result: None,
        consumer.on_event if consumer else lambda event: None,
        limits=MllpLimits(),
        **(listener_options or {}),  # type: ignore[arg-type]
    )
    listener.start()
    stop = context.Event()
    processes = _attack(attack, listener.port, stop)
    receiver, sender = context.Pipe(duplex=False)
    try:
        time.sleep(1.2 if attack == "idle" else 0.3)  # let the attack set in
        gateway = context.Process(target=_gateway, args=(listener.port, messages, sender), daemon=True)
        gateway.start()
        if not receiver.poll(120):
            raise RuntimeError(f"the gateway did not finish under {attack}")
        latencies, unanswered = receiver.recv()
        gateway.join(5.0)
        failures[0] += unanswered
    finally:
        stop.set()
        for p in processes:
            p.join(5.0)
            if p.is_alive():
                p.kill()
        listener.stop()
        if consumer is not None:
            consumer.stop()
    return list(latencies)


ATTACKS = ("none", "slowloris", "idle", "flood", "mutated", "fast")


def _percentiles(prefix: str, seconds: list[float], unanswered: int) -> dict[str, float]:
    ms = sorted(x * 1000 for x in seconds)
    return {
        f"{prefix}_p50_ms": statistics.median(ms) if ms else float("nan"),
        f"{prefix}_p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan"),
        f"{prefix}_unanswered": float(unanswered),
    }


def attack_figures(
    messages: int = 200,
    reference: str | None = None,
    core: bool = False,
    attacks: tuple[str, ...] = ATTACKS,
    rounds: int = 1,
) -> dict[str, float]:
    """p50 and p99 of the gateway's ACK round trip under each attack, in milliseconds; with a
    ``reference`` revision, this tree's listener (``new``) and that one (``old``) one after the
    other for each attack, the first of the pair alternating. With ``rounds`` above 1 the whole
    sequence is repeated and each percentile is over the round trips of every round, so a burst
    of other work on the machine falls on both listeners alike; ``load_<attack>_max`` is the
    highest load average seen as that attack began."""
    Variant = tuple[str, type[MllpListener], dict[str, object]]
    variants: list[Variant] = [("", MllpListener, {})]
    if reference is not None:
        variants = [("_new", MllpListener, {}), ("_old", reference_listener(reference), {})]
        if core:
            # This tree's listener without its switch interval: what each of the two changes buys.
            variants.append(("_new_keep_interval", MllpListener, {"switch_interval_s": None}))
    # Each run begins at the process's interval (a listener may have shortened it).
    interval = sys.getswitchinterval()
    pooled: dict[str, list[float]] = {}
    unanswered: dict[str, int] = {}
    loads: dict[str, list[float]] = {}
    turn = 0
    for _ in range(rounds):
        for attack in attacks:
            loads.setdefault(attack, []).append(os.getloadavg()[0])
            for suffix, listener_class, options in variants if turn % 2 == 0 else variants[::-1]:
                failures = [0]
                sys.setswitchinterval(interval)
                seconds = ack_latencies(attack, messages, failures, listener_class, core, options)
                key = f"ack_{attack}{suffix}"
                pooled.setdefault(key, []).extend(seconds)
                unanswered[key] = unanswered.get(key, 0) + failures[0]
            turn += 1
    sys.setswitchinterval(interval)  # as found: later benchmarks in this process are not affected
    figures: dict[str, float] = {}
    for attack in attacks:
        figures[f"load_{attack}"] = statistics.median(loads[attack])
        if rounds > 1:
            figures[f"load_{attack}_max"] = max(loads[attack])
        for suffix, _, _ in variants:
            key = f"ack_{attack}{suffix}"
            figures.update(_percentiles(key, pooled[key], unanswered[key]))
    return figures


def run() -> dict[str, float]:
    """Every figure (see the module docstring); ``load_1m`` is the machine's load when it began
    (other work on the machine shows in the tail latencies)."""
    load = {"load_1m": os.getloadavg()[0]}
    return {**load, **ingest_rates(), **worst_cases(), **attack_figures()}


def main(argv: list[str] | None = None) -> None:
    """Print the figures; ``--attacks`` for the ACK times only (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--attacks", action="store_true", help="only the gateway's ACK time under attack")
    parser.add_argument("--reference", metavar="REV", help="also measure the listener of git revision REV")
    parser.add_argument("--core", action="store_true", help="results to a pumped MonitorCore, as in the app")
    parser.add_argument("--messages", type=int, default=200, help="gateway messages per attack (200)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every attack, pooling the round trips")
    parser.add_argument("--only", choices=ATTACKS, nargs="+", default=ATTACKS, help="these attacks only")
    parser.add_argument(
        "--switch-interval",
        type=float,
        metavar="S",
        help="the interpreter's thread switch interval in this process (Python's default 0.005)",
    )
    args = parser.parse_args(argv)
    # The clinical engine's warnings about the IPF messages' 2012 device time are not figures.
    logging.disable(logging.WARNING)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    figures = {"load_1m": os.getloadavg()[0], "switch_interval_ms": sys.getswitchinterval() * 1000}
    if not args.attacks:
        figures |= ingest_rates() | worst_cases()
    figures |= attack_figures(args.messages, args.reference, args.core, tuple(args.only), args.rounds)
    for key, value in figures.items():
        print(f"{key}: {value:.2f}", flush=True)


if __name__ == "__main__":
    main()
