"""Billing accounts: who pays, for whom, and how to reach them."""

import uuid
from datetime import date

import pytest

from invoicing.accounts import BillingAccount, ContactPreference, Guarantor, Patient
from invoicing.errors import InvalidAccount, UnknownPatient

TODAY = date(2026, 11, 27)


def guarantor(**overrides) -> Guarantor:
    fields = dict(
        name="Pat Parent",
        date_of_birth=date(1980, 5, 6),
        contact_preference=ContactPreference.EMAIL,
        email="pat@example.com",
        phone=None,
    )
    fields.update(overrides)
    return Guarantor(**fields)


def patient(**overrides) -> Patient:
    fields = dict(id=uuid.uuid4(), name="Kid One", date_of_birth=date(2018, 1, 2))
    fields.update(overrides)
    return Patient(**fields)


def account(*patients: Patient, **guarantor_fields) -> BillingAccount:
    return BillingAccount.open(
        clinic_id=uuid.uuid4(),
        guarantor=guarantor(**guarantor_fields),
        patients=list(patients) or [patient()],
        today=TODAY,
    )


def test_a_parent_paying_for_two_children_is_one_account_with_two_patients():
    first, second = patient(name="Kid One"), patient(name="Kid Two")
    opened = account(first, second)
    assert [p.name for p in opened.patients] == ["Kid One", "Kid Two"]
    assert opened.patient(second.id) == second


@pytest.mark.parametrize(
    "overrides",
    [
        {"contact_preference": ContactPreference.SMS},  # no phone
        {"contact_preference": ContactPreference.BOTH, "phone": "+15551234567", "email": None},
        {"email": "not-an-address"},
        {"phone": "555-1234", "contact_preference": ContactPreference.SMS},
        {"date_of_birth": date(2027, 1, 1)},
        {"date_of_birth": date(1899, 12, 31)},
        {"name": "   "},
    ],
)
def test_a_guarantor_that_cannot_be_reached_or_is_implausible_is_refused(overrides):
    with pytest.raises(InvalidAccount):
        account(**overrides)


def test_an_account_pays_for_at_least_one_patient():
    with pytest.raises(InvalidAccount):
        BillingAccount.open(clinic_id=uuid.uuid4(), guarantor=guarantor(), patients=[], today=TODAY)


def test_two_patients_of_one_account_cannot_share_an_external_id():
    with pytest.raises(InvalidAccount):
        account(patient(external_id="MRN-1"), patient(external_id="MRN-1"))


def test_contact_changes_replace_only_the_named_fields():
    opened = account()
    opened.change_contact(
        {"phone": "+15551234567", "contact_preference": ContactPreference.BOTH}, today=TODAY
    )
    assert opened.guarantor.email == "pat@example.com"
    assert opened.guarantor.phone == "+15551234567"
    assert opened.guarantor.contact_preference is ContactPreference.BOTH


def test_a_contact_change_that_leaves_no_way_to_reach_the_guarantor_is_refused():
    opened = account()
    with pytest.raises(InvalidAccount):
        opened.change_contact({"email": None}, today=TODAY)
    assert opened.guarantor.email == "pat@example.com"


def test_a_patient_can_be_added_later():
    opened = account()
    added = patient(name="Kid Two")
    opened.add_patient(added, today=TODAY)
    assert opened.patient(added.id).name == "Kid Two"


def test_asking_for_a_patient_of_another_account_fails():
    with pytest.raises(UnknownPatient):
        account().patient(uuid.uuid4())


def test_the_identity_check_matches_the_guarantors_or_any_patients_date_of_birth():
    child = patient(date_of_birth=date(2018, 1, 2))
    opened = account(child)
    assert opened.date_of_birth_matches(date(1980, 5, 6))
    assert opened.date_of_birth_matches(date(2018, 1, 2))
    assert not opened.date_of_birth_matches(date(2018, 1, 3))


def test_the_identity_check_for_a_named_patient_matches_only_that_patients_date_of_birth():
    child = patient(date_of_birth=date(2018, 1, 2))
    opened = account(child)
    assert opened.date_of_birth_matches(date(2018, 1, 2), patient_id=child.id)
    assert not opened.date_of_birth_matches(date(1980, 5, 6), patient_id=child.id)
    assert not opened.date_of_birth_matches(date(2018, 1, 2), patient_id=uuid.uuid4())


def test_refusals_never_quote_the_personal_details_they_refuse():
    with pytest.raises(InvalidAccount) as refused:
        account(email="pat.parent@example.com.", phone="12345")
    assert "pat.parent" not in str(refused.value)
