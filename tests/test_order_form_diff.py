"""The order-form version diff is a pure function of two versions."""

from __future__ import annotations

from types import SimpleNamespace

from launchroom.orderforms.diff import diff_order_forms


def version(number, **fields):
    base = {
        "version": number,
        "requested_stage": "paid_beta",
        "compliance_modules": "A\nB",
        "cohort_description": "Supervisors",
        "cohort_size": 120,
        "verifier_audience": "HR",
        "data_boundaries": "EU only",
        "excluded_claims": "X\nY",
        "acceptance_language": "We accept.",
    }
    base.update(fields)
    return SimpleNamespace(**base)


def test_it_finds_no_change_between_equal_versions():
    diff = diff_order_forms(version(1), version(2))
    assert not diff.changed
    assert (diff.old_version, diff.new_version) == (1, 2)


def test_it_gives_list_fields_as_lines_added_and_removed_ignoring_order_and_blanks():
    diff = diff_order_forms(version(1), version(2, compliance_modules="B\n\n C \nA", excluded_claims="X"))
    by_name = {c.name: c for c in diff.changes}
    assert by_name["compliance_modules"].added == ("C",)
    assert by_name["compliance_modules"].removed == ()
    assert by_name["excluded_claims"].removed == ("Y",)
    assert by_name["excluded_claims"].is_list


def test_it_gives_other_fields_as_old_and_new_values():
    diff = diff_order_forms(version(1), version(2, cohort_size=300, data_boundaries="EU and UK"))
    assert [(c.label, c.old, c.new) for c in diff.changes] == [
        ("Cohort size", "120", "300"),
        ("Data boundaries", "EU only", "EU and UK"),
    ]


def test_the_first_version_lists_every_filled_field_as_new():
    diff = diff_order_forms(None, version(1, verifier_audience=""))
    names = [c.name for c in diff.changes]
    assert "verifier_audience" not in names
    assert names[0] == "requested_stage"
    assert diff.old_version is None
