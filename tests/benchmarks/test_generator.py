"""The synthetic gateway capture generator (benchmarks/gen_gateway_capture.py) at a tiny size:
deterministic, a well-formed pcap, and ground truth that agrees with the file."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "gen_gateway_capture.py"
SIZE = "2MB"


def generate(out: Path, seed: int = 1) -> tuple[bytes, dict[str, object]]:
    # A short span packs some dozens of visits into the small size (over the default hour,
    # one TLS download may fill it alone).
    argv = [str(GENERATOR), "--size", SIZE, "--duration", "30", "--seed", str(seed), "--out", str(out), "--quiet"]
    subprocess.run([sys.executable, *argv], check=True, timeout=60)
    truth = json.loads(Path(f"{out}.truth.json").read_text())
    return out.read_bytes(), truth


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, object]]:
    return generate(tmp_path_factory.mktemp("gen") / "a.pcap")


def test_same_seed_and_size_give_the_same_bytes(capture: tuple[bytes, dict[str, object]], tmp_path: Path) -> None:
    data, truth = capture
    again, truth_again = generate(tmp_path / "b.pcap")
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(data).hexdigest()
    # Everything in the truth but the generator's own run time is reproduced too.
    truth.pop("generation_s")
    truth_again.pop("generation_s")
    assert truth_again == truth


def test_another_seed_gives_another_capture(capture: tuple[bytes, dict[str, object]], tmp_path: Path) -> None:
    other, _ = generate(tmp_path / "c.pcap", seed=2)
    assert other != capture[0]


def test_records_are_well_formed_and_in_time_order(capture: tuple[bytes, dict[str, object]]) -> None:
    data, truth = capture
    magic, major, minor, _, _, snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 1)
    pos, count, last = 24, 0, (0, 0)
    while pos < len(data):
        sec, usec, caplen, wirelen = struct.unpack_from("<IIII", data, pos)
        assert caplen == wirelen <= min(snaplen, 1518 + 36)
        assert usec < 1_000_000 and (sec, usec) >= last
        last = (sec, usec)
        pos += 16 + caplen
        count += 1
    assert pos == len(data) == truth["file_bytes"]
    assert count == truth["packets"]


def test_truth_is_consistent(capture: tuple[bytes, dict[str, object]]) -> None:
    _, truth = capture
    http = truth["http"]
    assert isinstance(http, dict)
    assert http["requests"] == http["responses"] > 0
    assert 0 < http["requests_with_identifier"] <= http["requests"]
    assert sum(http["methods"].values()) == http["requests"]
    assert sum(http["statuses"].values()) == http["responses"]
    identifiers = truth["identifiers"]
    assert isinstance(identifiers, dict)
    assert all(n.startswith("+") and n[1:].isdigit() for n in identifiers["msisdn"])
    assert all(len(i) == 15 and i.isdigit() for i in identifiers["imsi"])


def test_numbers_are_valid_mobile_numbers() -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    sys.path.insert(0, str(GENERATOR.parent))
    try:
        import random

        from gateway.population import OPERATORS, make_subscriber
    finally:
        sys.path.remove(str(GENERATOR.parent))
    rng = random.Random(7)
    for operator in (op for op in OPERATORS if op.country != "US"):  # US lines send a token, not a number
        for index in range(50):
            sub = make_subscriber(rng, index, operator)
            number = phonenumbers.parse("+" + sub.msisdn)
            assert phonenumbers.is_valid_number(number), sub.msisdn
            assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE, sub.msisdn
