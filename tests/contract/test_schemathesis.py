"""The served OpenAPI document tells the truth: schemathesis against the live API, for each role.

Every operation, every role, valid and invalid input (a few examples each, seeded, so the run is
bounded and repeatable): no server errors, and every status, content type, body and header the
service answers with is the one the document promises.
"""

from __future__ import annotations

import asyncio

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.conftest import Live

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
# Examples per operation, role and mode: enough to reach each operation's refusals and answers,
# few enough that the whole suite stays within its time.
EXAMPLES = {GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 1}


def fuzz(live: Live) -> tuple[int, list[str]]:
    """Run the checks; return how many calls were made and one line per distinct failure."""
    schema = schemathesis.openapi.from_url(f"{live.url}/schema/openapi.json")
    session = requests.Session()
    failures: dict[str, str] = {}
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for role, key in live.keys.items():
            for mode, examples in EXAMPLES.items():
                calls += _check(live.url, session, operation, f"{operation.label} as {role}", key, mode, examples,
                                failures)
    return calls, [f"{name}\n{detail}" for name, detail in sorted(failures.items())]


def _check(url: str, session: requests.Session, operation: schemathesis.APIOperation, name: str, key: str,
           mode: GenerationMode, examples: int, failures: dict[str, str]) -> int:
    calls = 0

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        nonlocal calls
        calls += 1
        try:
            case.call_and_validate(base_url=url, session=session, headers={"Authorization": f"Bearer {key}"},
                                   checks=CHECKS)
        except (Exception, BaseExceptionGroup) as failure:  # collect every operation's findings, not just the first
            text = str(failure).strip()
            failures.setdefault(f"{name}: {text.splitlines()[0] if text else type(failure).__name__}", text[:2000])

    check()
    return calls


async def test_every_operation_answers_as_documented_for_each_role(live: Live) -> None:
    calls, failures = await asyncio.to_thread(fuzz, live)
    assert calls > 100
    assert not failures, "\n\n".join(failures)
