"""/verify/<code> reads ASCII digits only: a code whose id part holds other Unicode digits
('²', '٣') is no code of ours, a 404 and never a 500."""

from __future__ import annotations

import pytest

from launchroom.acceptance.certificate import record_id_for_code, verification_code

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["²-abc", "%C2%B2-abc", "٣-abc", "１２-abc", "1²-abc", "-abc", "1-"])
def test_it_answers_404_to_a_code_with_non_ascii_digits(client, code):
    response = client.get(f"/verify/{code}")
    assert response.status_code == 404


def test_it_reads_no_record_id_from_unicode_digits():
    assert record_id_for_code("²-abc") is None
    assert record_id_for_code("٣" + verification_code(3)[1:]) is None
    assert record_id_for_code(verification_code(3)) == 3
