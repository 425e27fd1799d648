"""bot.slim_aiogram skips aiogram's eager validator builds; every type must still build."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # each imports aiogram afresh in a process

CHECK = textwrap.dedent(
    """
    import sys
    import bot  # installs the slim import, as every entry point does
    import aiogram.methods, aiogram.types
    from pydantic import BaseModel
    from pydantic._internal._mock_val_ser import MockValSer

    assert isinstance(aiogram.types.Update.__pydantic_validator__, MockValSer), "not deferred"
    update = aiogram.types.Update.model_validate(
        {"update_id": 1, "message": {"message_id": 2, "date": 0, "text": "hi",
         "chat": {"id": 3, "type": "private"},
         "from": {"id": 3, "is_bot": False, "first_name": "A"}}}
    )
    assert update.message.from_user.id == 3
    built = 0
    for package in (aiogram.types, aiogram.methods):
        for name in package.__all__:
            model = getattr(package, name)
            if isinstance(model, type) and issubclass(model, BaseModel):
                model.model_rebuild(raise_errors=True)
                assert not isinstance(model.__pydantic_validator__, MockValSer), name
                built += 1
    print(built)
    """
)


def test_every_aiogram_type_and_method_builds_lazily() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 400  # all of them, not a few


def test_aiogram_imported_first_keeps_its_eager_build() -> None:
    code = (
        "import aiogram.types, bot\n"
        "from bot.slim_aiogram import is_slim\n"
        "from pydantic._internal._mock_val_ser import MockValSer\n"
        "print(isinstance(aiogram.types.Update.__pydantic_validator__, MockValSer), is_slim())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"  # and is_slim() owns up to it


def test_response_models_survive_garbage_collection() -> None:
    """pydantic caches ``Response[...]`` weakly; a rebuild after each collection stalled
    the bot (~300 ms for ``Response[list[Update]]``)."""
    code = textwrap.dedent(
        """
        import gc, weakref
        import bot
        from aiogram.methods.base import Response
        from aiogram.types import Update

        def parse():  # in a function, as aiogram's session does (pydantic keeps models
            return Response[list[Update]]  # made at module level in the module's globals)

        first = weakref.ref(parse())
        gc.collect()
        print(first() is not None and parse() is first())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
