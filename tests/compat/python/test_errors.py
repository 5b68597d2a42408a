"""Error mapping through the official Python SDK: wrong API key, unknown sandbox IDs."""

import pytest
from e2b import AuthenticationException, Sandbox, SandboxNotFoundException, SandboxQuery

from compat_helpers import WRONG_API_KEY, list_ids, unknown_sandbox_id


def test_wrong_api_key(sandboxes, tag):
    # Create must be refused; should it succeed anyway, kill what it made and fail.
    try:
        leaked = Sandbox.create(timeout=30, metadata={"tag": tag}, api_key=WRONG_API_KEY)
    except AuthenticationException:
        pass
    else:
        sandboxes.track(leaked.sandbox_id)
        pytest.fail("Sandbox.create with a wrong API key succeeded")

    with pytest.raises(AuthenticationException):
        Sandbox.list(api_key=WRONG_API_KEY).next_items()

    # A real sandbox: the wrong key must neither see nor touch it.
    sbx = sandboxes.create(metadata={"tag": tag})
    with pytest.raises(AuthenticationException):
        Sandbox.get_info(sbx.sandbox_id, api_key=WRONG_API_KEY)
    with pytest.raises(AuthenticationException):
        Sandbox.set_timeout(sbx.sandbox_id, 5, api_key=WRONG_API_KEY)
    with pytest.raises(AuthenticationException):
        Sandbox.connect(sbx.sandbox_id, api_key=WRONG_API_KEY)
    with pytest.raises(AuthenticationException):
        Sandbox.kill(sbx.sandbox_id, api_key=WRONG_API_KEY)

    assert sbx.is_running()
    assert list_ids(SandboxQuery(metadata={"tag": tag})) == [sbx.sandbox_id]
    remaining = Sandbox.get_info(sbx.sandbox_id)
    assert remaining.sandbox_id == sbx.sandbox_id


def test_unknown_sandbox():
    sandbox_id = unknown_sandbox_id()
    with pytest.raises(SandboxNotFoundException):
        Sandbox.get_info(sandbox_id)
    with pytest.raises(SandboxNotFoundException):
        Sandbox.connect(sandbox_id)
    with pytest.raises(SandboxNotFoundException):
        Sandbox.set_timeout(sandbox_id, 30)
    assert Sandbox.kill(sandbox_id) is False
