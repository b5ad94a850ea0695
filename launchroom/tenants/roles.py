"""The staff roles as Django groups, each with the least permissions it needs.

Which gate a role may decide is checked again in ``launchroom.services``; these model
permissions only open the admin screens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchroom.catalog import Role

if TYPE_CHECKING:
    from django.apps.registry import Apps

VIEW_ALL = [
    "launchroom.view_tenant",
    "launchroom.view_tenantmembership",
    "launchroom.view_orderform",
    "launchroom.view_gatedecision",
    "launchroom.view_acceptancerecord",
    "launchroom.view_stagechange",
    "launchroom.view_supportplan",
    "launchroom.view_incident",
    "launchroom.view_incidentnotice",
    "evidence.view_evidenceattachment",
    "evidence.view_evidencecheck",
]

GROUP_PERMISSIONS: dict[Role, list[str]] = {
    Role.COMMERCIAL: [
        *VIEW_ALL,
        "launchroom.add_tenant",
        "launchroom.change_tenant",
        "launchroom.invite_buyer",
        "launchroom.add_tenantmembership",
        "launchroom.change_tenantmembership",
        "launchroom.delete_tenantmembership",
        "launchroom.add_orderform",
        "launchroom.change_orderform",
        "launchroom.add_acceptancerecord",
    ],
    Role.FINANCE: [
        "launchroom.view_tenant",
        "launchroom.view_orderform",
        "billing.view_billingprofile",
        "billing.add_billingprofile",
        "billing.change_billingprofile",
    ],
    Role.OPERATOR: [
        *VIEW_ALL,
        "billing.view_billingprofile",
        "launchroom.move_stage",
        "launchroom.add_stagechange",
        "launchroom.add_gatedecision",
        "evidence.add_evidenceattachment",
    ],
    Role.SECURITY: [
        *VIEW_ALL,
        "billing.view_billingprofile",
        "launchroom.add_gatedecision",
        "evidence.add_evidenceattachment",
    ],
    Role.SUPPORT: [
        "launchroom.view_tenant",
        "launchroom.view_gatedecision",
        "launchroom.add_gatedecision",
        "launchroom.view_supportplan",
        "launchroom.add_supportplan",
        "launchroom.change_supportplan",
        "launchroom.view_incident",
        "launchroom.add_incident",
        "launchroom.change_incident",
        "launchroom.view_incidentnotice",
        "launchroom.add_incidentnotice",
        "evidence.view_evidenceattachment",
        "evidence.add_evidenceattachment",
    ],
}


def sync_groups(apps: Apps | None = None) -> None:
    """Create each role's group and set exactly its permissions (idempotent)."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or global_apps
    for app_config in global_apps.get_app_configs():
        # create_permissions() skips an app whose models_module is unset; any true value will do.
        app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, apps=registry, verbosity=0)
    Group = registry.get_model("auth", "Group")
    Permission = registry.get_model("auth", "Permission")
    named = {name for names in GROUP_PERMISSIONS.values() for name in names}
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.filter(codename__in={n.split(".")[1] for n in named}).select_related("content_type")
    }
    missing = sorted(named - set(by_name))
    if missing:
        raise Permission.DoesNotExist(f"No such permission: {', '.join(missing)}")
    for role, names in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set([by_name[name] for name in names])
