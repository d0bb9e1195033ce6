"""Schemathesis against the live admin API: no input, valid or not, gets a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from canary.evidence.signing import SIGNING_KEY_ENV
from canary.store.admin_token import rotate_admin_token
from canary.store.engine import open_store
from tests.admin_support import live_admin
from tests.bundle_support import SIGNER
from tests.case_support import mail_hit, make_copy


def test_no_500_on_any_input(tmp_path: Path, port: int, monkeypatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNER.private_base64())  # as `canary init` leaves it
    store = open_store(f"sqlite:///{tmp_path / 'canary.db'}")
    try:
        make_copy(store, "Proveedor A", ["ana@canary.example"], ["+50683123456"])
        mail_hit(store, "ana@canary.example")
        token = rotate_admin_token(store)
        with live_admin(store, port) as url:
            schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json")
            operations = [r.ok() for r in schema.get_all_operations()]
            assert len(operations) >= 11
            headers = {"Authorization": f"Bearer {token}"}
            for op in operations:

                @settings(
                    max_examples=40,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=op.as_strategy())
                def check(case: schemathesis.Case) -> None:
                    response = case.call(base_url=url, headers=headers, timeout=60)
                    case.validate_response(response, checks=[not_a_server_error])

                try:
                    check()
                except Exception as exc:
                    pytest.fail(f"{op.method.upper()} {op.path}: {exc}")
    finally:
        store.dispose()
