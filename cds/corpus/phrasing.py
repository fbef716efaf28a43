"""Turning DDXPlus's second-person questions into third-person findings.

DDXPlus evidences are patient-facing yes/no questions ("Do you have a cough?"). A note states
findings ("She has a cough."). The rewrite is grammatical, not per-question: drop the
auxiliary, conjugate the first verb for the third person, swap pronouns. A question the rules do
not cover is kept as a quoted intake item, which real notes also contain, rather than mangled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ADVERBS = {
    "ever",
    "currently",
    "recently",
    "regularly",
    "constantly",
    "suddenly",
    "previously",
    "still",
    "often",
    "usually",
    "also",
    "temporarily",
    "significantly",
}
_IRREGULAR_PAST = {"lose": "lost", "eat": "ate", "have": "had", "feel": "felt", "take": "took"}
_SUBJECT_VERBS = {
    "are",
    "were",
    "have",
    "had",
    "feel",
    "felt",
    "get",
    "believe",
    "produce",
    "take",
    "think",
    "do",
    "did",
    "was",
    "is",
    "suffer",
    "live",
    "work",
    "drink",
    "smoke",
    "can",
}


@dataclass(frozen=True)
class Pronouns:
    subject: str  # she / he
    object: str  # her / him
    possessive: str  # her / his

    @classmethod
    def for_sex(cls, sex: str) -> Pronouns:
        return cls("she", "her", "her") if sex == "F" else cls("he", "him", "his")


def third_person(verb: str) -> str:
    if verb == "have":
        return "has"
    if verb == "do":
        return "does"
    if verb == "are":
        return "is"
    if re.search(r"(s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def past(verb: str) -> str:
    if verb in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[verb]
    return verb + "d" if verb.endswith("e") else verb + "ed"


def _conjugate_first_verb(words: list[str], form) -> list[str]:
    """Apply `form` to the first word that is not an adverb."""
    for i, word in enumerate(words):
        if word.rstrip(",") in _ADVERBS:
            continue
        words[i] = form(word)
        break
    return words


_OBJECT_AFTER = {
    "with",
    "to",
    "as",
    "than",
    "for",
    "from",
    "of",
    "at",
    "keeping",
    "wake",
    "make",
    "about",
}
_MODALS = {"can", "could", "may", "might", "will", "would", "should", "must"}


def _swap_pronouns(text: str, p: Pronouns) -> str:
    """Second person -> third person. "you" is an object after a preposition or at the end of
    a clause, otherwise a subject whose verb is conjugated."""

    def you(match: re.Match[str]) -> str:
        before, after = match.group(1), match.group(3)
        if before.lower() in _OBJECT_AFTER or not after:
            return f"{before} {p.object}{match.group(2)}{after}"
        verb = after
        if verb in _MODALS or verb.endswith(("ed", "ly")) or verb in _ADVERBS:
            return f"{before} {p.subject} {after}"
        return f"{before} {p.subject} {third_person(verb)}"

    text = re.sub(r"\byou(’|')re\b", f"{p.subject} is", text)
    text = re.sub(r"\b(or )?were you\b", lambda m: f"{m.group(1) or ''}was {p.subject}", text)
    text = re.sub(r"\byou are\b", f"{p.subject} is", text)
    text = re.sub(r"\byou were\b", f"{p.subject} was", text)
    text = re.sub(r"\byou have\b", f"{p.subject} has", text)
    text = re.sub(r"\(or were\)", "(or was)", text)
    text = re.sub(r"\byour\b", p.possessive, text)
    text = re.sub(r"(\w+) you(\W*)\s*(\w*)", you, text)
    text = re.sub(r"  +", " ", text)
    return text


def finding(question: str, p: Pronouns) -> str | None:
    """Third-person statement without a subject ("has a cough"), or None if not rewritable.

    Returns a predicate so templates can choose the subject ("She", "The patient", "Pt").
    """
    q = question.strip().rstrip("?:").strip()
    q = re.sub(r"^In the last month, have you ", "Have you ", q)
    q = re.sub(r"\s*\(+", " (", q)  # "anticoagulants ((NOACs)" in the source
    m = re.match(r"^(Do|Did|Have|Are|Were) you (.+)$", q)
    if m:
        aux, rest = m.group(1), m.group(2)
        # "Did you previously, or do you currently, have X" -> "has (or had) X"
        rest = re.sub(r",? or (did|do) you (ever|currently|previously),", "", rest)
        rest = re.sub(r"^or (.+?) (ever )?(had|been) ", r"(or \1) has \2\3 ", rest)
        rest = re.sub(r"\bor (has|is|are|was) your (\w+)", r"or your \2 \1", rest)
        rest = re.sub(r"\bor have\b", "or has", rest)
        # "Do you have X or do you take Y": conjugate the verb after every "do you"
        rest = re.sub(r"\bor do you (\w+)", lambda mm: "or " + third_person(mm.group(1)), rest)
        rest = re.sub(r"\bor are you\b", "or is", rest)
        rest = re.sub(r"\bor have you\b", "or has", rest)
        rest = re.sub(r"\bor did you (\w+)", lambda mm: "or " + past(mm.group(1)), rest)
        words = rest.split(" ")
        if aux == "Do":
            words = _conjugate_first_verb(words, third_person)
        elif aux == "Did":
            words = _conjugate_first_verb(words, past)
        elif aux == "Have":
            words = words if rest.startswith("(or ") else ["has", *words]
        elif aux == "Are":
            words = ["is", *words]
        elif aux == "Were":
            words = ["was", *words]
        return _swap_pronouns(" ".join(words), p)
    return None


def statement(question: str, p: Pronouns) -> str:
    """A full sentence for a positive yes/no answer, with a generic fallback."""
    predicate = finding(question, p)
    if predicate is not None:
        return f"{p.subject.capitalize()} {predicate}."
    clause = subject_phrase(question, p)
    if clause is not None:
        return f"{clause[0].upper()}{clause[1:]}."
    return f'Answered yes to "{question.strip()}"'


def subject_phrase(question: str, p: Pronouns) -> str | None:
    """Clause for questions about a body part or the symptoms rather than the patient
    ("Is your skin paler than usual" -> "her skin is paler than usual"), or None."""
    q = question.strip().rstrip("?").strip()
    m = re.match(r"^Does the person (.+)$", q)
    if m:
        words = _conjugate_first_verb(m.group(1).split(" "), third_person)
        return _swap_pronouns(f"{p.subject} {' '.join(words)}", p)
    m = re.match(r"^(Is|Are|Do|Does|Did) (your|the) (\w+) (.+)$", q)
    if not m or m.group(4).startswith(("or ", "and ", "of ")):
        return None
    aux, owner, noun, rest = m.groups()
    owner = p.possessive if owner == "your" else "the"
    if aux in ("Is", "Are"):
        clause = f"{owner} {noun} {'is' if aux == 'Is' else 'are'} {rest}"
    elif aux == "Does":
        clause = f"{owner} {noun} {' '.join(_conjugate_first_verb(rest.split(' '), third_person))}"
    elif aux == "Did":
        clause = f"{owner} {noun} {' '.join(_conjugate_first_verb(rest.split(' '), past))}"
    else:
        clause = f"{owner} {noun} {rest}"
    if ", or " in clause:  # a second question tacked on ("..., or are you underweight")
        return None
    return _swap_pronouns(clause, p)
