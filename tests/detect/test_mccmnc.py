"""MCC/MNC table: the IMSIs of the research note resolve to their Claro networks; numbers that only look like
IMSIs do not."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from analyzer.detect import mccmnc
from analyzer.detect.mccmnc import Network, imsi_home_network, imsi_home_networks, is_known_mcc, networks_for


def summary(network: Network | None) -> tuple[str, str, str, str] | None:
    return None if network is None else (network.mcc, network.mnc, network.country_iso, network.brand)


@pytest.mark.parametrize(
    ("imsi", "expected", "operator"),
    [
        # Note §1b/§1c: real Claro requests recorded in 2015 (mobile-subscriber gem, Claro factories).
        ("722310115238848", ("722", "310", "AR", "Claro"), "AMX Argentina S.A."),  # 3-digit MNC
        ("716100316259449", ("716", "10", "PE", "Claro"), "América Móvil Perú"),
        ("704012013128442", ("704", "01", "GT", "Claro"), "Telecomunicaciones de Guatemala, S.A."),
        ("714030003647380", ("714", "03", "PA", "Claro"), "América Móvil"),
    ],
)
def test_note_imsis_resolve_to_their_home_network(
    imsi: str, expected: tuple[str, str, str, str], operator: str
) -> None:
    network = imsi_home_network(imsi)
    assert summary(network) == expected
    assert network is not None
    assert network.operator == operator
    assert (network.status, network.entry_type) == ("Operational", "National")
    assert network.plmn == imsi[: len(network.plmn)]


@pytest.mark.parametrize(
    "digits",
    [
        "100123456789012",  # MCC 100 is not assigned
        "142625692216200",  # a millisecond Unix time (X-Request-Start 1426256922162) padded to 15 digits: MCC 142
        "202403151230451",  # a YYYYMMDDhhmmss time stamp: MCC 202 is Greece, but 202-40 and 202-403 do not exist
        "999991234567890",  # 999: internal use in private networks, never a subscriber's home network
        "999999123456789",
        "001010123456789",  # 001-01: the test network of test SIMs
        "7223101152388481",  # 16 digits: longer than any IMSI
        "7231",  # shorter than MCC + 2-digit MNC
        "72231",  # 722 uses 3-digit MNCs only, so 5 digits cannot name a network there
        "72231O115238848",  # letter O for zero
        "７２２３１０１１５２３８８４８",  # full-width digits are not ASCII digits
        "",
    ],
)
def test_numbers_that_are_not_imsis_have_no_home_network(digits: str) -> None:
    assert imsi_home_network(digits) is None
    assert imsi_home_networks(digits) == ()


def test_test_networks_only_on_request() -> None:
    assert summary(imsi_home_network("001010123456789", include_test=True)) == ("001", "01", "", "TEST")
    internal = imsi_home_network("999991234567890", include_test=True)
    assert internal is not None and (internal.mnc, internal.operator) == ("99", "Internal use")
    assert is_known_mcc("001") and is_known_mcc("999")
    assert not is_known_mcc("100")


def test_north_american_three_digit_mnc() -> None:
    # MCC 310 allocates 3-digit MNCs; 310-410 is listed twice (US AT&T, VI Liberty), US first.
    found = imsi_home_networks("310410123456789")
    assert [summary(n) for n in found] == [("310", "410", "US", "AT&T"), ("310", "410", "VI", "Liberty")]
    assert summary(imsi_home_network("310410123456789")) == ("310", "410", "US", "AT&T")
    assert networks_for("310", "41") == ()


def test_mcc_with_both_mnc_lengths_returns_every_reading_three_digits_first() -> None:
    # India 405 has 2-digit (405-03 Reliance) and 3-digit (405-030 TATA DOCOMO) codes; the IMSI cannot tell which.
    found = imsi_home_networks("405030123456789")
    assert [summary(n) for n in found] == [("405", "030", "IN", "TATA DOCOMO"), ("405", "03", "IN", "Reliance")]
    assert summary(imsi_home_network("405030123456789")) == ("405", "030", "IN", "TATA DOCOMO")
    # Where only the 2-digit code exists, the 2-digit reading is the answer.
    assert networks_for("405", "010") == ()
    assert summary(imsi_home_network("405010123456789")) == ("405", "01", "IN", "Reliance")


def test_mnc_digits_are_kept_as_allocated() -> None:
    assert [n.brand for n in networks_for("722", "010")] == ["Movistar"]
    assert networks_for("722", "10") == ()
    assert [n.brand for n in networks_for("716", "10")] == ["Claro"]
    assert networks_for("716", "100") == ()


def test_mcc_mnc_pair_of_a_sibling_header_resolves() -> None:
    # X-WAP-3GPP-SGSN-MCC-MNC / x-up-3gpp-sgsn-mcc-mnc carry "MCCMNC" (note §1a, §1c).
    assert summary(imsi_home_network("23410")) == ("234", "10", "GB", "O2 (UK)")
    assert [n.country_iso for n in imsi_home_networks("23403")] == ["GG", "JE", "GB"]


def test_table_size_and_shape() -> None:
    table = mccmnc.load_networks()
    assert len(table.by_plmn) == 3038
    assert sum(len(rows) for rows in table.by_plmn.values()) == 3085
    assert len(table.mccs) == 238
    assert mccmnc.load_networks() is table  # loaded once
    text = resources.files("analyzer").joinpath("data", "mcc_mnc.csv").read_text(encoding="utf-8")
    header = next(csv.reader([text.splitlines()[0]]))
    assert header == ["mcc", "mnc", "type", "country_iso", "country_name", "brand", "operator", "status", "notes"]


def test_source_is_documented_beside_the_data() -> None:
    note = resources.files("analyzer").joinpath("data", "mcc_mnc.SOURCE.md").read_text(encoding="utf-8")
    assert "mcc-mnc-list` **1.1.11**" in note
    assert "f1256aab7ce7422f1d827701d5ae5a11443be4b2" in note
    assert "CC BY-SA 4.0" in note


def test_table_is_every_row_of_the_file_by_column_name() -> None:
    """The loader reads rows by position for speed: the same networks as reading them by column name."""
    text = resources.files("analyzer").joinpath("data", "mcc_mnc.csv").read_text(encoding="utf-8")
    grouped: dict[tuple[str, str], list[Network]] = {}
    for row in csv.DictReader(text.splitlines()):
        network = Network(
            mcc=row["mcc"],
            mnc=row["mnc"],
            country_iso=row["country_iso"],
            country_name=row["country_name"],
            brand=row["brand"],
            operator=row["operator"],
            status=row["status"],
            entry_type=row["type"],
            notes=row["notes"],
        )
        grouped.setdefault((network.mcc, network.mnc), []).append(network)
    table = mccmnc.load_networks().by_plmn
    assert list(table) == list(grouped)
    assert table == {key: tuple(networks) for key, networks in grouped.items()}
