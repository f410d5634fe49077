"""Starting a send at once, and finishing it in a task only when it has to wait."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from repolens.realtime import eager


def test_a_coroutine_that_never_waits_finishes_in_the_caller_without_a_task() -> None:
    async def scenario() -> tuple[object, list[str]]:
        said: list[str] = []

        async def send() -> None:
            said.append("sent")

        return eager.start(send()), said

    task, said = asyncio.run(scenario())

    assert task is None and said == ["sent"]


def test_a_coroutine_that_waits_is_finished_by_a_task_with_what_it_waited_for() -> None:
    async def scenario() -> list[object]:
        seen: list[object] = []
        ready = asyncio.get_running_loop().create_future()

        async def send() -> None:
            seen.append("before")
            seen.append(await ready)
            await asyncio.sleep(0)  # and again, with a bare yield
            seen.append("after")

        task = eager.start(send())
        assert task is not None and seen == ["before"]
        ready.set_result(42)
        await task
        return seen

    assert asyncio.run(scenario()) == ["before", 42, "after"]


def test_an_error_before_waiting_is_raised_to_the_caller() -> None:
    async def send() -> None:
        raise ConnectionResetError("gone")

    async def scenario() -> None:
        eager.start(send())

    with pytest.raises(ConnectionResetError):
        asyncio.run(scenario())


def test_an_error_while_waiting_reaches_the_coroutine_and_ends_the_task() -> None:
    async def scenario() -> tuple[str, BaseException | None]:
        ready = asyncio.get_running_loop().create_future()
        handled: list[str] = []

        async def send() -> None:
            try:
                await ready
            except ConnectionResetError:
                handled.append("seen inside")
                raise

        task = eager.start(send())
        assert task is not None
        ready.set_exception(ConnectionResetError("gone"))
        await asyncio.wait([task])
        return handled[0], task.exception()

    handled, error = asyncio.run(scenario())

    assert handled == "seen inside" and isinstance(error, ConnectionResetError)


def test_cancelling_the_task_cancels_what_the_coroutine_waits_on() -> None:
    async def scenario() -> tuple[bool, bool]:
        ready = asyncio.get_running_loop().create_future()
        cleaned: list[bool] = []

        async def send() -> None:
            try:
                await ready
            finally:
                cleaned.append(True)

        task = eager.start(send())
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])
        return task.cancelled(), bool(cleaned) and ready.cancelled()

    assert asyncio.run(scenario()) == (True, True)


def test_nothing_private_to_asyncio_is_touched() -> None:
    source = Path(eager.__file__).read_text(encoding="utf-8")

    assert "_asyncio_" not in source and "._" not in source.replace("self._", "")
