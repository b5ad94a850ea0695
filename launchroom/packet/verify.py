"""Launch packet verification, shared with the standalone ``tools/verify_packet.py``.

The logic lives in that tool, which needs only the standard library and ``cryptography``
so that a buyer can run it without the portal; the portal's command imports it from there.
"""

from __future__ import annotations

from tools.verify_packet import BadKey, load_public_key, verify_packet

__all__ = ["BadKey", "load_public_key", "verify_packet"]
