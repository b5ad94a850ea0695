"""``verify_decision_log`` from the command line: a broken log exits non-zero.

Apart from tests/test_decision_log.py because ``run_from_argv`` closes the database
connection when it ends, which a module-wide transaction (``prebuild``) cannot survive.
"""

from __future__ import annotations

import pytest

from launchroom.management.commands.verify_decision_log import Command
from launchroom.models import StageChange
from tests.launch_helpers import build
from tests.tamper import raw


def test_it_exits_non_zero_from_the_command_line(staff, capsys: pytest.CaptureFixture[str]) -> None:
    build("globex", staff)
    raw(f"UPDATE {StageChange._meta.db_table} SET reason = 'edited'")

    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "verify_decision_log"])
    assert exited.value.code == 1
    assert "CommandError: The decision log is broken" in capsys.readouterr().err
