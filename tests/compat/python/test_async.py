"""The async client (AsyncSandbox) against the same lifecycle calls."""

import asyncio

from e2b import AsyncSandbox, SandboxNotFoundException, SandboxQuery, SandboxState

from compat_helpers import DEFAULT_TIMEOUT_S


def test_async_lifecycle(tag):
    async def main():
        sbx = await AsyncSandbox.create(timeout=DEFAULT_TIMEOUT_S, metadata={"tag": tag})
        try:
            info = await sbx.get_info()
            assert info.sandbox_id == sbx.sandbox_id
            assert info.metadata == {"tag": tag}
            assert info.state == SandboxState.RUNNING
            assert await sbx.is_running() is True

            paginator = AsyncSandbox.list(query=SandboxQuery(metadata={"tag": tag}))
            items = await paginator.next_items()
            assert [s.sandbox_id for s in items] == [sbx.sandbox_id]
            assert not paginator.has_next

            connected = await AsyncSandbox.connect(sbx.sandbox_id)
            assert connected.sandbox_id == sbx.sandbox_id

            await sbx.set_timeout(300)
            assert await sbx.kill() is True
            assert await sbx.is_running() is False
            assert await AsyncSandbox.kill(sbx.sandbox_id) is False
            try:
                await AsyncSandbox.get_info(sbx.sandbox_id)
            except SandboxNotFoundException:
                pass
            else:
                raise AssertionError("get_info of a killed sandbox did not raise SandboxNotFoundException")
        finally:
            try:
                await AsyncSandbox.kill(sbx.sandbox_id)
            except Exception:
                pass

    asyncio.run(main())
