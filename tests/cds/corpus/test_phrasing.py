import pytest

from cds.corpus.phrasing import Pronouns, statement

SHE, HE = Pronouns.for_sex("F"), Pronouns.for_sex("M")


@pytest.mark.parametrize(
    ("question", "pronouns", "expected"),
    [
        ("Do you have a cough?", SHE, "She has a cough."),
        ("Do you smoke cigarettes?", HE, "He smokes cigarettes."),
        ("Have you had chills or shivers?", SHE, "She has had chills or shivers."),
        ("Are you immunosuppressed?", HE, "He is immunosuppressed."),
        ("Did you lose consciousness?", SHE, "She lost consciousness."),
        (
            "Do you have pain that improves when you lean forward?",
            HE,
            "He has pain that improves when he leans forward.",
        ),
        ("Do you regularly take stimulant drugs?", SHE, "She regularly takes stimulant drugs."),
        ("Is your skin much paler than usual?", SHE, "Her skin is much paler than usual."),
        (
            "Are you significantly overweight compared to people of the same height as you?",
            HE,
            "He is significantly overweight compared to people of the same height as him.",
        ),
    ],
)
def test_questions_become_third_person_findings(question, pronouns, expected):
    assert statement(question, pronouns) == expected


def test_unparseable_question_is_quoted_not_mangled():
    q = "Have any of your family members ever had a pneumothorax?"
    assert statement(q, SHE) == f'Answered yes to "{q}"'
