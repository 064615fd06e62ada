"""A client generated from api_spec/openapi.json with openapi-python-client drives a referral to a placement.

What an integrator does: generate a typed client from the committed document, then use it. Every
answer must parse into the generated models (no "Cannot parse response ... will be omitted").
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.contract.conftest import Live

SPEC = Path(__file__).parents[2] / "api_spec" / "openapi.json"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client package, generated into a temporary folder and imported."""
    folder = tmp_path_factory.mktemp("client")
    config = folder / "config.yaml"
    config.write_text("package_name_override: safeaccom_client\nproject_name_override: safeaccom-client\n"
                      "post_hooks: []\n", encoding="utf-8")
    binary = shutil.which("openapi-python-client") or str(Path(sys.executable).parent / "openapi-python-client")
    result = subprocess.run(
        [binary, "generate", "--path", str(SPEC), "--output-path", str(folder / "safeaccom_client"), "--meta", "none",
         "--config", str(config)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Cannot parse" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("safeaccom_client")
    finally:
        sys.path.remove(str(folder))


def call(client_package: ModuleType, module: str, live: Live, role: str, **kwargs: Any) -> Any:
    """Call one generated operation as a role; the answer parsed into its generated model."""
    operation = importlib.import_module(f"safeaccom_client.api.{module}")
    client = client_package.AuthenticatedClient(base_url=live.url, token=live.keys[role],
                                                raise_on_unexpected_status=True)
    response = operation.sync_detailed(client=client, **kwargs)
    assert 200 <= response.status_code < 300, (module, response.status_code, response.content)
    assert response.parsed is not None, (module, response.content)
    return response.parsed


def referral_to_placement(package: ModuleType, live: Live) -> None:
    models = importlib.import_module("safeaccom_client.models")
    scheme = call(package, "inventory.api_v1_schemes_create_scheme", live, "provider", body=models.SchemeIn.from_dict({
        "provider_id": live.provider_id, "name": "Client test refuge", "type": "refuge", "authority": "E08000034",
        "district": "HD1", "address": "1 Generated Row", "genders": ["female"], "accepts_children": True,
    }))
    unit = call(package, "inventory.api_v1_schemes_scheme_id_units_create_unit", live, "provider",
                scheme_id=scheme.id, body=models.UnitIn.from_dict({"label": "Room 1", "bedspaces": 2}))
    referral = call(package, "referrals.api_v1_referrals_create", live, "officer", body=models.ReferralIn.from_dict({
        "risk": "high", "referred_on": date.today().isoformat(), "adults": [{"gender": "female", "age": 31}],
    }))
    assert referral.status == "open"
    proposals = call(package, "matching.api_v1_referrals_referral_id_proposals_proposals", live, "officer",
                     referral_id=referral.id)
    assert unit.id in [item.unit_id for item in proposals.items]
    offer = call(package, "offers.api_v1_offers_create", live, "officer",
                 body=models.OfferIn.from_dict({"referral_id": referral.id, "unit_id": unit.id}))
    assert offer.status == "pending"
    accepted = call(package, "offers.api_v1_offers_offer_id_accept_accept", live, "provider", offer_id=offer.id)
    placement = call(package, "offers.api_v1_placements_placement_id_placement", live, "officer",
                     placement_id=accepted.placement_id)
    assert placement.unit_id == unit.id and placement.address == "1 Generated Row"
    read = call(package, "referrals.api_v1_referrals_referral_id_read", live, "officer", referral_id=referral.id)
    assert read.status == "placed"


async def test_a_generated_client_takes_a_referral_to_a_placement(generated: ModuleType, live: Live) -> None:
    await asyncio.to_thread(referral_to_placement, generated, live)
