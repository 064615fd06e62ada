"""Build refdata/*.csv from ../shared/data (the academe/UK-Postcodes compilation of ONS and OS open data).

Run from the repository root: python scripts/build_refdata.py ../shared/data
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

# English councils: unitary (E06), shire district (E07), metropolitan district (E08),
# London borough (E09) and county (E10). Part 4 of the Act binds the tier-one councils.
COUNCIL_PREFIXES = ("E06", "E07", "E08", "E09", "E10")
TIER_ONE_PREFIXES = ("E06", "E08", "E09", "E10")

# London's districts name no borough in the source and stay without a council.
# The district file names some councils differently from the council file.
COUNTY_ALIASES = {
    "County Durham": "Durham",
    "City of Bristol": "Bristol",
    "Isle Of Wight": "Isle of Wight",
    "County of Herefordshire": "Herefordshire",
    "Newcastle Upon Tyne": "Newcastle upon Tyne",
    "City of Kingston-upon-Hull": "Kingston upon Hull",
    "Bedford Borough": "Bedford",
    "Isles Of Scilly": "Isles of Scilly",
    "Hertford": "Hertfordshire",
    "Buckingham": "Buckinghamshire",
}

# Who borders whom, for West Yorkshire, Barnsley, Oldham, Rochdale, Sheffield and their neighbours.
# Kept symmetric by the build. Tier-one councils; High Peak (E07000037) is named too because
# the councils' own documents call it Kirklees's neighbour.
NEIGHBOURS = {
    "E08000032": ["E08000035", "E08000033", "E08000034", "E10000023", "E10000017"],  # Bradford
    "E08000033": ["E08000032", "E08000034", "E08000005", "E08000004", "E10000017"],  # Calderdale
    "E08000034": ["E08000032", "E08000033", "E08000035", "E08000036", "E08000016", "E08000004",
                  "E10000007", "E07000037"],  # Kirklees
    "E08000035": ["E08000032", "E08000034", "E08000036", "E10000023"],  # Leeds
    "E08000036": ["E08000035", "E08000034", "E08000016", "E08000017", "E10000023"],  # Wakefield
    "E08000016": ["E08000034", "E08000036", "E08000017", "E08000018", "E08000019", "E10000007",
                  "E07000037"],  # Barnsley
    "E08000004": ["E08000034", "E08000033", "E08000005", "E08000008", "E08000003", "E10000007",
                  "E07000037"],  # Oldham
    "E08000005": ["E08000004", "E08000033", "E08000002", "E08000003", "E10000017"],  # Rochdale
    "E08000019": ["E08000016", "E08000018", "E10000007", "E07000037"],  # Sheffield
    "E08000017": ["E08000016", "E08000036", "E08000018", "E10000023", "E06000011", "E06000013",
                  "E10000024"],  # Doncaster
    "E08000018": ["E08000016", "E08000019", "E08000017", "E10000007", "E10000024"],  # Rotherham
    "E08000003": ["E08000004", "E08000005", "E08000002", "E08000006", "E08000007", "E08000008",
                  "E08000009"],  # Manchester
    "E08000008": ["E08000004", "E08000003", "E08000007", "E10000007", "E07000037"],  # Tameside
    "E08000002": ["E08000005", "E08000003", "E08000006", "E08000001", "E10000017"],  # Bury
    "E08000007": ["E08000003", "E08000008", "E08000009", "E06000049", "E10000007", "E07000037"],  # Stockport
    "E10000007": ["E08000034", "E08000016", "E08000019", "E08000018", "E08000004", "E08000008",
                  "E08000007", "E06000049", "E10000024"],  # Derbyshire
}


def main(source: Path, target: Path) -> None:
    """Write authorities.csv, neighbours.csv and districts.csv into target."""
    councils = [
        row for row in csv.DictReader((source / "uk_counties_and_authorities.csv").open(encoding="utf-8"))
        if row["gss_code"].startswith(COUNCIL_PREFIXES) and row["historic"] == "N"
    ]
    by_name = {row["name"]: row["gss_code"] for row in councils}
    codes = set(by_name.values())

    with (target / "authorities.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "name", "tier_one"])
        for row in sorted(councils, key=lambda r: r["gss_code"]):
            writer.writerow([row["gss_code"], row["name"], row["gss_code"].startswith(TIER_ONE_PREFIXES)])

    pairs = set()
    for code, others in NEIGHBOURS.items():
        for other in others:
            assert code in codes and other in codes, (code, other)
            pairs.add((code, other))
            pairs.add((other, code))
    with (target / "neighbours.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "neighbour"])
        writer.writerows(sorted(pairs))

    unmatched: dict[str, int] = {}
    with (target / "districts.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["district", "authority", "lat", "lon"])
        for row in csv.DictReader((source / "postcode_districts.csv").open(encoding="utf-8")):
            if row["country_code"] != "ENG":
                continue
            county = COUNTY_ALIASES.get(row["county"], row["county"])
            if county == "Greater Manchester":  # the Manchester city districts (M1..M90)
                county = "Manchester"
            authority = by_name.get(county, "")
            if not authority:
                unmatched[county] = unmatched.get(county, 0) + 1
            writer.writerow([row["postcode"], authority, row["latitude"], row["longitude"]])
    print(f"councils {len(councils)}, neighbour pairs {len(pairs)}, districts without a council: {unmatched}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"), Path(__file__).parents[1] / "refdata")
