"""Names of patients, clinicians and relatives, found by the words real notes put around them.

spaCy's PERSON entities (see `engine.py`) find capitalised full names; these patterns find the
rest: lower-case or single names after a title ("dr healey"), a relation ("wife Peggy"), a role
label ("Attending: ..."), a reporting verb ("per Rizzo"), or before a credential ("Bean RN").
Accuracy: measured by `cds deid eval` on the PhysioNet nursing notes and the demo corpus
(docs/deid.md).
"""

from presidio_analyzer import Pattern

from governance.deid.recognizers.base import NOT_A_NAME, ClinicalPatternRecognizer, register

_WORD = r"[A-Za-z][A-Za-z'\-]+"
_CAP = r"(?-i:[A-Z][a-z][A-Za-z'\-]*)"  # Capitalised, not ALL-CAPS prose
_TITLES = r"(?:dr|doctor|drs|(?-i:Mr|Mrs|Ms|Miss|Mx|Prof|Rev|MR|MRS))"  # "MS" = mental status
_RELATIONS = (
    r"(?:wife|husband|spouse|son|daughter|sister|brother|mother|father|mom|dad|mum|friend|"
    r"niece|nephew|aunt|uncle|grandson|granddaughter|grandmother|grandfather|fiance|fiancee|"
    r"partner|neighbor|neighbour|cousin|sister-in-law|brother-in-law|son-in-law|"
    r"daughter-in-law|mother-in-law|father-in-law|boyfriend|girlfriend|hcp|proxy|guardian|"
    r"caregiver|roommate|stepson|stepdaughter|sibling|child|nok)"
)
_ROLES = (
    r"(?:patient|pt|name|pt name|patient name|attending|resident|intern|fellow|pcp|provider|"
    r"physician|surgeon|np|pa|rn|nurse|case manager|social worker|sw|contact|emergency contact|"
    r"next of kin|signed by|electronically signed by|dictated by|cosigned by|seen and examined by|"
    r"seen by|referred by|referring physician|cc)"
)
_CREDENTIALS = r"(?-i:(?:RN|MD|DO|NP|PA|PA-C|RRT|PT|OT|SW|MSW|LICSW|LPN|CNA|PharmD|RD|FACP|PhD))"


@register
class NameRecognizer(ClinicalPatternRecognizer):
    ENTITY = "NAME"
    PATTERNS = [
        Pattern("title + name", rf"(?<=\b{_TITLES}\.?\s{{1,3}}){_WORD}(?:[ \t]+{_CAP})?", 0.85),
        Pattern(
            "relation + name",
            rf"(?<=\b{_RELATIONS}(?:'s)?(?:\s*[,(:\-]\s*|\s+|\s+named\s+|\s+is\s+)){_WORD}"
            rf"(?:[ \t]+{_CAP})?",
            0.6,
        ),
        Pattern(
            "role label + name",
            rf"(?<=\b{_ROLES}\s*[:\-]\s*(?:dr\.?\s+)?){_WORD}(?:[ \t]+{_CAP}){{0,2}}",
            0.7,
        ),
        Pattern("name + credential", rf"{_CAP}(?:[ \t]+{_CAP})?(?=,?\s+{_CREDENTIALS}\b)", 0.7),
        Pattern(
            "reporting verb + capitalised name",
            rf"(?<=\b(?:per|paged|called|spoke with|spoke to|seen by|notified|informed|"
            rf"discussed with|d/w|by)\s+){_CAP}(?:[ \t]+{_CAP})?(?=\s*(?:[,.;:)]|$|\s))",
            0.35,
        ),
        Pattern("initial + surname", r"(?-i:\b[A-Z]\.\s?[A-Z][a-z]+\b)", 0.4),
    ]
    CONTEXT = ["dr", "doctor", "md", "rn", "wife", "husband", "daughter", "son", "name", "per"]

    def invalidate_result(self, pattern_text: str) -> bool | None:
        first = pattern_text.split()[0].lower().strip(".,")
        return first in NOT_A_NAME or len(first) < 2
