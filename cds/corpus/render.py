"""Rendering one DDXPlus patient as a realistic, line-numbered clinical note with synthetic PHI.

Every choice (template, section order, phrasing, fake identifiers) is drawn from a
`random.Random` and a `Faker` seeded from (corpus seed, source row), so a note depends only on
its own row and the seed: the same seed gives byte-identical notes, and adding rows does not
change earlier ones. Several phrasings per section and shuffled section order keep a model from
learning one template.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass

from faker import Faker

from cds.corpus.ddxplus import Evidence, Knowledge, Patient
from cds.corpus.phrasing import Pronouns, finding, statement
from cds.corpus.text_builder import Phi, TextBuilder
from cds.schemas import PhiSpan, PhiType

# Labels for DDXPlus's categorical/multi-choice questions; any other question falls back to
# its own text, so a new evidence file still renders.
_VALUE_LABELS = {
    "Do you feel pain somewhere?": "Pain location",
    "Does the pain radiate to another location?": "Pain radiates to",
    "Characterize your pain:": "Pain character",
    "How fast did the pain appear?": "Speed of onset (0 gradual - 10 sudden)",
    "How intense is the pain?": "Pain intensity",
    "How precisely is the pain located?": "Localisation (0 diffuse - 10 pinpoint)",
    "Where is the affected region located?": "Skin lesion location",
    "What color is the rash?": "Rash colour",
    "How intense is the pain caused by the rash?": "Rash pain",
    "Is the rash swollen?": "Rash swelling",
    "How severe is the itching?": "Itching severity",
    "Is the lesion (or are the lesions) larger than 1cm?": "Lesions larger than 1 cm",
    "Do your lesions peel off?": "Lesions peel off",
    "Where is the swelling located?": "Swelling location",
    "Have you traveled out of the country in the last 4 weeks?": (
        "Travel outside the country, last 4 weeks"
    ),
}
_YES_NO = {"Y": "yes", "N": "no"}

# (the words that belong to the facility's name, the kind of facility). The kind is no PHI
# (the PhysioNet convention, docs/deid.md): "Calvert Memorial" is masked, "Hospital" is not.
_HOSPITAL_KINDS = (
    ("General", "Hospital"),
    ("", "Medical Center"),
    ("Community", "Hospital"),
    ("Regional", "Medical Center"),
    ("Memorial", "Hospital"),
    ("Family Health", "Clinic"),
    ("", "Urgent Care"),
)
_CREDENTIALS = ("MD", "DO", "NP", "PA-C", "MD, FACP", "MD, PhD")
_RELATIONS = {
    "F": ("husband", "wife", "daughter", "son", "sister", "mother", "partner"),
    "M": ("wife", "husband", "daughter", "son", "brother", "father", "partner"),
}


@dataclass(frozen=True)
class RenderedNote:
    text: str
    phi: tuple[PhiSpan, ...]
    evidence_lines: dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class _Identity:
    """The synthetic identifiers of one patient encounter."""

    first: str
    last: str
    dob: dt.date
    visit: dt.date
    mrn: str
    phone: str
    email: str
    street: str
    city: str
    state: str
    zip: str
    hospital: str  # its name, e.g. "Smithland Regional"
    hospital_kind: str  # "Medical Center"
    clinician_first: str
    clinician_last: str
    credential: str
    clinician_phone: str
    clinician_email: str
    relation: str
    relative: str
    member_id: str


def patient_key(seed: int, row: int) -> str:
    """Pseudonymous, stable patient id: no identifier, not reversible without the seed."""
    return "pt-" + hashlib.sha256(f"ddxplus:{seed}:{row}".encode()).hexdigest()[:12]


def _phone(fake: Faker, rng: random.Random) -> str:
    digits = fake.numerify("2##5550###")
    fmt = rng.choice(("({}) {}-{}", "{}-{}-{}", "{}.{}.{}", "+1 {} {} {}"))
    return fmt.format(digits[:3], digits[3:6], digits[6:])


def _identity(p: Patient, fake: Faker, rng: random.Random) -> _Identity:
    visit = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 3 * 365))
    born_days_before = p.age * 365 + rng.randrange(0, 365)
    dob = visit - dt.timedelta(days=born_days_before)
    first = fake.first_name_female() if p.sex == "F" else fake.first_name_male()
    last = fake.last_name()
    relation = rng.choice(_RELATIONS[p.sex])
    relative_first = (
        fake.first_name_female()
        if relation in ("wife", "daughter", "sister", "mother")
        else fake.first_name_male()
        if relation in ("husband", "son", "brother", "father")
        else fake.first_name()
    )
    clinician_first, clinician_last = fake.first_name(), fake.last_name()
    hospital_city = fake.city()
    return _Identity(
        first=first,
        last=last,
        dob=dob,
        visit=visit,
        mrn=str(rng.randrange(10**6, 10**8)).zfill(rng.choice((7, 8))),
        phone=_phone(fake, rng),
        email=f"{first.lower()}.{last.lower()}{rng.randrange(1, 99)}@{fake.free_email_domain()}",
        street=fake.street_address(),
        city=fake.city(),
        state=fake.state_abbr(),
        zip=fake.zipcode(),
        # (drawn here, in the order the corpus has always drawn it: the same notes)
        hospital_kind=(kind := rng.choice(_HOSPITAL_KINDS))[1],
        hospital=f"{hospital_city} {kind[0]}".strip(),
        clinician_first=clinician_first,
        clinician_last=clinician_last,
        credential=rng.choice(_CREDENTIALS),
        clinician_phone=_phone(fake, rng),
        clinician_email=f"{clinician_first[0].lower()}{clinician_last.lower()}@{fake.domain_name()}",
        relation=relation,
        relative=f"{relative_first} {last if rng.random() < 0.6 else fake.last_name()}",
        member_id=fake.bothify(
            rng.choice(("???#########", "W#########", "###-##-####-##"))
        ).upper(),
    )


def _date(d: dt.date, rng: random.Random) -> str:
    fmt = rng.choice(("%m/%d/%Y", "%B %d, %Y", "%Y-%m-%d", "%d %b %Y", "%m-%d-%Y"))
    return d.strftime(fmt)


def _age_text(age: int) -> str:
    return "under 1" if age == 0 else str(age)


def _age_field(age: int) -> str | Phi:
    # HIPAA Safe Harbor: ages over 89 are identifiers; younger ages are not.
    return Phi(str(age), PhiType.AGE) if age > 89 else _age_text(age)


def _value_line(ev: Evidence, values: list[str]) -> str | None:
    label = _VALUE_LABELS.get(ev.question_en, ev.question_en.rstrip("?: "))
    texts = []
    for v in values:
        t = ev.value_text(v)
        if t in ("NA", ""):
            continue
        texts.append(_YES_NO.get(t, t))
    if not texts:
        return None
    numeric = not ev.value_meaning and all(t.isdigit() for t in texts)
    if numeric and ev.possible_values and max(ev.possible_values) == 10:
        return f"{label}: {texts[0]}/10"
    if ev.name == ev.code_question and ev.is_antecedent and texts == ["no"]:
        return f"{label}: none"
    return f"{label}: {', '.join(texts)}"


def _finding_sentence(ev: Evidence, pro: Pronouns, subject: str) -> str:
    predicate = finding(ev.question_en, pro)
    if predicate is not None:
        return f"{subject} {predicate}."
    return statement(ev.question_en, pro)


def render_note(patient: Patient, kb: Knowledge, seed: int) -> RenderedNote:
    """Render `patient` as a clinical note; deterministic in (seed, patient.row)."""
    rng = random.Random(f"note:{seed}:{patient.row}")
    fake = Faker("en_US")
    fake.seed_instance(f"phi:{seed}:{patient.row}")
    ident = _identity(patient, fake, rng)
    pro = Pronouns.for_sex(patient.sex)
    b = TextBuilder()
    ev_lines: dict[str, list[int]] = defaultdict(list)

    name = Phi(f"{ident.first} {ident.last}", PhiType.NAME)
    surname = Phi(ident.last, PhiType.NAME)
    clinician = Phi(f"{ident.clinician_first} {ident.clinician_last}", PhiType.NAME)
    hospital = Phi(ident.hospital, PhiType.LOCATION)
    visit = Phi(_date(ident.visit, rng), PhiType.DATE)
    sex_word = {"F": rng.choice(("woman", "female")), "M": rng.choice(("man", "male"))}[patient.sex]
    if patient.age < 18:
        sex_word = "girl" if patient.sex == "F" else "boy"
    title = "Ms." if patient.sex == "F" else "Mr."

    # ---- header: always first, as in an EHR export, but with varied labels and order
    b.line(
        rng.choice(("{h} {k}", "{h} {k} - Emergency Department", "{h} {k}, Outpatient Clinic")),
        h=hospital,
        k=ident.hospital_kind,
    )
    b.line(
        rng.choice(
            ("CLINICAL NOTE", "History and Physical", "ED Provider Note", "Clinic Visit Note")
        )
    )
    header = [
        lambda: b.line(rng.choice(("Patient: {n}", "Name: {n}", "Pt name: {n}")), n=name),
        lambda: b.line(
            rng.choice(("MRN: {m}", "MRN {m}", "Medical record #: {m}")),
            m=Phi(ident.mrn, PhiType.MRN),
        ),
        lambda: b.line(
            rng.choice(("DOB: {d}", "Date of birth: {d}", "D.O.B. {d}")),
            d=Phi(_date(ident.dob, rng), PhiType.DATE),
        ),
        lambda: b.line(
            rng.choice(("Date of service: {v}", "Visit date: {v}", "Seen on {v}")), v=visit
        ),
        lambda: b.line(
            rng.choice(("Address: {s}, {c}, {st} {z}", "Home: {s}, {c} {st} {z}")),
            s=Phi(ident.street, PhiType.LOCATION),
            c=Phi(ident.city, PhiType.LOCATION),
            st=ident.state,
            z=Phi(ident.zip, PhiType.LOCATION),
        ),
        lambda: b.line(
            rng.choice(("Phone: {p}", "Tel {p}", "Contact number: {p}")),
            p=Phi(ident.phone, PhiType.PHONE),
        ),
    ]
    if rng.random() < 0.5:
        header.append(
            lambda: b.line(
                rng.choice(("Email: {e}", "E-mail: {e}")), e=Phi(ident.email, PhiType.EMAIL)
            )
        )
    if rng.random() < 0.4:
        header.append(
            lambda: b.line(
                rng.choice(("Insurance member ID: {i}", "Health plan ID: {i}")),
                i=Phi(ident.member_id, PhiType.HEALTH_PLAN),
            )
        )
    rng.shuffle(header)
    for write in header:
        write()
    b.line("")

    # ---- findings grouped the way a clinician would read them
    symptom_lines: list[tuple[str, str]] = []
    history_lines: list[tuple[str, str]] = []
    grouped: dict[str, list[str]] = defaultdict(list)
    order: list[str] = []
    for ev_value in patient.evidences:
        if ev_value.code not in grouped:
            order.append(ev_value.code)
        if ev_value.value is not None:
            grouped[ev_value.code].append(ev_value.value)
        else:
            grouped.setdefault(ev_value.code, [])
    subjects = (pro.subject.capitalize(), "Patient", "Pt", "The patient")
    for code in order:
        ev = kb.evidences[code]
        if ev.data_type == "B":
            sentence = _finding_sentence(ev, pro, rng.choice(subjects))
        else:
            sentence = _value_line(ev, grouped[code]) or ""
        if not sentence:
            continue
        (history_lines if ev.is_antecedent else symptom_lines).append((code, sentence))

    initial = kb.evidences[patient.initial_evidence]
    cc = finding(initial.question_en, pro) or statement(initial.question_en, pro)
    cc_line = b.line(
        rng.choice(("Chief complaint: {cc}", "CC: {cc}", "Reason for visit: {cc}")),
        cc=cc[0].upper() + cc[1:].rstrip(".") + ".",
    )
    ev_lines[initial.name].append(cc_line)

    # ---- HPI opening: the narrative mentions PHI the way real notes do
    age = _age_field(patient.age)
    openings = [
        (
            "{n} is a {a}-year-old {s} seen at {h} {k} on {v}.",
            dict(n=name, a=age, s=sex_word, h=hospital, k=ident.hospital_kind, v=visit),
        ),
        (
            "{t} {l} is a {a} y/o {s} who presents today.",
            dict(t=title, l=surname, a=age, s=sex_word),
        ),
        (
            "{a}-year-old {s} presenting to {h} {k}, accompanied by {r} {rn}.",
            dict(
                a=age,
                s=sex_word,
                h=hospital,
                k=ident.hospital_kind,
                r=ident.relation,
                rn=Phi(ident.relative, PhiType.NAME),
            ),
        ),
        (
            "Pt is a {a} yo {s}; history obtained from the patient and {r} ({rn}).",
            dict(a=age, s=sex_word, r=ident.relation, rn=Phi(ident.relative, PhiType.NAME)),
        ),
    ]
    template, fields = rng.choice(openings)
    b.line(rng.choice(("HPI:", "History of present illness:", "HISTORY OF PRESENT ILLNESS")))
    b.line(template, **fields)
    rng.shuffle(symptom_lines)
    bullet = rng.choice(("", "- ", "* "))
    for code, sentence in symptom_lines:
        ev_lines[code].append(b.line("{b}{s}", b=bullet, s=sentence))

    sections = []
    if history_lines:

        def history() -> None:
            b.line("")
            b.line(
                rng.choice(
                    (
                        "PMH / risk factors:",
                        "Past medical and social history:",
                        "History:",
                        "Relevant history and exposures:",
                    )
                )
            )
            rng.shuffle(history_lines)
            for code, sentence in history_lines:
                ev_lines[code].append(b.line("{b}{s}", b=bullet or "- ", s=sentence))

        sections.append(history)

    def contacts() -> None:
        b.line("")
        b.line(
            rng.choice(("Emergency contact: {r} {rn}, {p}", "Next of kin: {rn} ({r}), phone {p}")),
            r=ident.relation,
            rn=Phi(ident.relative, PhiType.NAME),
            p=Phi(_phone(fake, rng), PhiType.PHONE),
        )

    if rng.random() < 0.5:
        sections.append(contacts)
    rng.shuffle(sections)
    for write in sections:
        write()

    # ---- sign-off
    b.line("")
    follow_up = Phi(
        _date(ident.visit + dt.timedelta(days=rng.choice((3, 7, 14))), rng), PhiType.DATE
    )
    signoffs = [
        (
            "Electronically signed by {c}, {cr} on {v}.",
            dict(c=clinician, cr=ident.credential, v=visit),
        ),
        (
            "Seen and examined by Dr. {cl}. Follow-up planned {f}.",
            dict(cl=Phi(ident.clinician_last, PhiType.NAME), f=follow_up),
        ),
        (
            "{c}, {cr} - pager {p}",
            dict(c=clinician, cr=ident.credential, p=Phi(ident.clinician_phone, PhiType.PHONE)),
        ),
    ]
    template, fields = rng.choice(signoffs)
    b.line(template, **fields)
    if rng.random() < 0.5:
        b.line("Questions: {e}", e=Phi(ident.clinician_email, PhiType.EMAIL))

    return RenderedNote(
        text=b.text,
        phi=tuple(b.spans),
        evidence_lines={k: tuple(v) for k, v in ev_lines.items()},
    )
