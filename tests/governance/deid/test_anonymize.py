import datetime as dt

from governance.deid.anonymize import Anonymizer, Surrogates
from governance.deid.engine import Detection

KEY = b"0123456789abcdef0123456789abcdef"


def _anon(text, spans, patient="pt-1", mode="surrogate", key=KEY):
    dets = [Detection(text.index(v), text.index(v) + len(v), t, 0.9) for v, t in spans]
    return Anonymizer(key, mode=mode).anonymize(text, dets, patient)


def test_same_name_same_surrogate_within_patient_across_notes():
    a = _anon("Seen by Dr. Healey.", [("Healey", "NAME")])
    b = _anon("Healey called back.", [("Healey", "NAME")])
    assert "Healey" not in a and "Healey" not in b
    assert a.split("Dr. ")[1].rstrip(".") == b.split(" called")[0]


def test_other_patient_or_key_gets_other_surrogates():
    s = Surrogates(KEY)
    names = {s.value("NAME", "Maria Lopez", f"pt-{i}") for i in range(20)}
    assert len(names) > 15
    assert Surrogates(b"another-key-of-32-bytes-00000000").value(
        "NAME", "Maria Lopez", "pt-1"
    ) != s.value("NAME", "Maria Lopez", "pt-1")


def test_date_shift_preserves_intervals_and_format():
    s = Surrogates(KEY)
    a, b = s.shift_date("03/01/2024", "pt-9"), s.shift_date("03/15/2024", "pt-9")
    da, db = (dt.datetime.strptime(x, "%m/%d/%Y") for x in (a, b))
    assert (db - da).days == 14
    assert a != "03/01/2024"
    assert s.shift_date("March 14, 2024", "pt-9").split()[0].isalpha()
    assert s.shift_date("last Tuesday", "pt-9") == "[DATE]"


def test_ages_over_89_collapse_and_redact_mode_tags():
    assert _anon("a 93 yo woman", [("93", "AGE")]) == "a 90+ yo woman"
    assert _anon("call 617-555-0100", [("617-555-0100", "PHONE")], mode="redact") == "call [PHONE]"


def test_surrogate_never_reuses_a_real_name_of_the_note():
    text = "Pt Jane Smith; son John Smith; Dr. Smith"
    out = Anonymizer(KEY).anonymize(
        text,
        [
            Detection(3, 13, "NAME", 0.9),
            Detection(19, 29, "NAME", 0.9),
            Detection(35, 40, "NAME", 0.9),
        ],
        "pt-1",
    )
    assert "Smith" not in out and "Jane" not in out and "John" not in out
