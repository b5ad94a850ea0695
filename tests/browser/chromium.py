"""Which Chromium the browser tests drive.

``CHROMIUM_PATH`` when set. Otherwise Debian's ``chromium-headless-shell`` when installed: the
same Blink, V8 and version as Debian's ``chromium``, without the browser around them, which
runs the same tests on about a third less CPU (tests/browser: 89 s -> 61 s of CPU on 2 cores).
Otherwise Debian's ``chromium``. CI's browser run names ``chromium`` itself (.ci/run).
"""

from __future__ import annotations

import os
import shutil


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium-headless-shell")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
