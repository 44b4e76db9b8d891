from datetime import date

from reminders.notices import SMS_LIMIT, WORDING, Facts, money, render_email, render_sms
from reminders.sms import keyword, signature, signature_is_valid

LINK = "https://pay.example.org/s/0123456789ab"


def facts(**overrides) -> Facts:
    base = dict(
        clinic_name="Sunny Speech",
        amount=15_000,
        currency="USD",
        due_date=date(2027, 1, 15),
        link=LINK,
    )
    return Facts(**{**base, **overrides})


def test_money_is_written_from_minor_units_without_floats():
    assert money(15_000, "USD") == "$150.00"
    assert money(5, "EUR") == "€0.05"
    assert money(123_456_789, "GBP") == "£1,234,567.89"
    assert money(5_000, "JPY") == "5,000 JPY"
    assert money(1_050, "CHF") == "10.50 CHF"


def test_every_kind_renders_an_email_with_the_amount_date_clinic_and_link():
    for kind in WORDING:
        email = render_email(kind, facts())
        assert "Sunny Speech" in email.subject or "Sunny Speech" in email.text
        assert LINK in email.text and f'href="{LINK}"' in email.html
    issued = render_email("invoice_issued", facts())
    assert "$150.00" in issued.text and "January 15, 2027" in issued.text


def test_html_escapes_what_the_clinic_typed():
    email = render_email("invoice_due", facts(clinic_name="Tom & Jerry <Therapy>"))
    assert "Tom &amp; Jerry &lt;Therapy&gt;" in email.html
    assert "<Therapy>" not in email.html


def test_every_sms_stays_under_160_characters_even_for_long_clinic_names():
    long_name = "The Very Long Name Pediatric Speech Language And Occupational Therapy Clinic"
    for kind in [*WORDING, "something_new"]:
        for name in ("Sunny Speech", long_name):
            text = render_sms(kind, facts(clinic_name=name, amount=99_999_999))
            assert len(text) < SMS_LIMIT, (kind, len(text))
            assert LINK in text


def test_sms_says_how_to_stop_and_only_what_is_needed():
    text = render_sms("invoice_overdue", facts())
    assert "STOP" in text and "$150.00" in text and "January 15, 2027" in text


def test_stop_and_start_keywords():
    assert keyword(" stop ") == "stop" and keyword("UNSUBSCRIBE") == "stop"
    assert keyword("Start") == "start" and keyword("yes") == "start"
    assert keyword("please stop texting") is None and keyword("") is None


def test_replies_are_verified_as_twilio_signs_them():
    # The example from Twilio's webhook security documentation.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert signature_is_valid("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signature_is_valid(
        "12345", url, {**params, "Digits": "1"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )
