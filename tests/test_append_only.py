"""Decision records are never changed or deleted: not by save, queryset or the admin."""

import pytest

from core.append_only import AppendOnlyError
from launchroom.models import AcceptanceRecord, DecisionLogEntry, GateDecision, LaunchStage, StageChange
from tests.factories import ready_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex(db):
    """Every evidence gate decided, signed for paid beta and moved into it."""
    return ready_tenant("globex", sign_for=LaunchStage.PAID_BETA, live=True)


MODELS = [GateDecision, AcceptanceRecord, StageChange, DecisionLogEntry]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_it_refuses_to_change_a_decision_row(globex, model):
    row = model.objects.filter(tenant=globex).first()
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).update(tenant=globex)
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).delete()
    assert model.objects.filter(pk=row.pk).exists()


ADMIN_URLS = {
    GateDecision: "/admin/launchroom/gatedecision/",
    AcceptanceRecord: "/admin/launchroom/acceptancerecord/",
    StageChange: "/admin/launchroom/stagechange/",
}


@pytest.mark.parametrize("model", list(ADMIN_URLS), ids=lambda m: m.__name__)
def test_it_shows_decision_rows_read_only_in_the_admin(client, staff, globex, model):
    row = model.objects.filter(tenant=globex).first()
    base = ADMIN_URLS[model]
    client.force_login(staff["operator"])  # a superuser, so only the admin's own rules stop it
    page = client.get(f"{base}{row.pk}/change/")
    assert page.status_code == 200
    assert b'type="submit"' not in page.content or b"Save" not in page.content
    assert client.post(f"{base}{row.pk}/change/", {}).status_code == 403
    assert client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    changelist = client.get(base)
    assert b"delete_selected" not in changelist.content
    assert model.objects.filter(pk=row.pk).exists()


def test_it_chains_each_decision_into_the_log(globex):
    kinds = list(DecisionLogEntry.objects.filter(tenant=globex).values_list("kind", flat=True))
    assert kinds.count("gate_decision") == GateDecision.objects.filter(tenant=globex).count()
    assert kinds.count("acceptance_record") == 1
    assert kinds[-2:] == ["stage_change", "readiness_transition"]  # the move, then how readiness moved
    assert AcceptanceRecord.objects.get(tenant=globex).stage == LaunchStage.PAID_BETA
