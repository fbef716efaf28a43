"""Word lists that tell an identifier from ordinary clinical language.

- `common_words()`: words that appear in at least `MIN_DOCUMENTS` documents of the MedQuAD NIH
  consumer-health answers (CC BY 4.0, `data/external/medquad`), in at least
  `MIN_ABSTRACTS` of PubMedQA's 1,000 PubMed abstracts (MIT, `data/external/pubmedqa-pqal`:
  clinical research vocabulary such as "intubated", "lumen"), or in DDXPlus's condition and
  evidence texts, plus ward and unit abbreviations. A detection made by a weak pattern whose
  words are all common is dropped, and common words are never propagated through a note.
  The list is generated (`python -m governance.deid.lexicon`) and shipped as
  `data/common_words.txt`, so the detector needs no data files at run time. `is_common()`
  also accepts the past tenses and adverbs of those words ("arrived", "currently").
- `first_names()` / `last_names()`: given names of Faker's (MIT, a PyPI package) English
  locales and surnames of its Latin-script locales: the gazetteer of `GazetteerNameRecognizer`.
  Given names from other locales include too many clinical abbreviations ("abd", "mae").

None of the lists is drawn from an evaluation corpus.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

MIN_DOCUMENTS = 5
MIN_ABSTRACTS = 3
COMMON_WORDS_FILE = Path(__file__).parent / "data" / "common_words.txt"
_WORD = re.compile(r"[A-Za-z][A-Za-z'&\-]*[A-Za-z]|[A-Za-z]")


def words(text: str) -> list[str]:
    """Lower-cased words of `text` (letters, inner apostrophes and hyphens)."""
    return [w.lower() for w in _WORD.findall(text)]


# Clinical shorthand for places inside a hospital: common in notes, rare in reference text.
# ("OH", outside hospital, and "NH", nursing home, are also states: "Dayton OH 45402".)
WARD_WORDS = words(
    "icu micu sicu ccu cvicu nicu picu csru pacu ed er ew or osh ob l&d lab labs cath floor ward "
    "unit bed rehab neuro neurosurg ortho tele telemetry stepdown vicu pcu rm room bay "
    "sats swan aline a-line picc ett ogt ngt foley abg cxr ekg ecg echo tee ct mri"
)
# Nursing shorthand that looks like a given name ("MAE" = moves all extremities).
CLINICAL_SHORTHAND = words(
    "mae perla perrla perl eve eves max min asa lue rue lle rle ota sl ntg gtt gtts prn abd "
    "neo dopa levo epi nitro hep vanco zosyn tylenol lasix coumadin cont conts yest spont "
    "tol sat sats resp neuro endo fem rca lad lcx ica mca sob doe pnd cp pt pts "
    "hickman swan ganz temp hr rr bp spo2 wt ht bun creat cr hct hgb wbc plt glu inr ptt phos "
    "lytes angio ami imi nstemi stemi mat tab tabs caps "
    # ICU charting: "as per Carevue" (Philips CareVue, the ICU charting system), "see flowsheet"
    "carevue flowsheet "
    # ventilation and rhythm: "returned to SIMV", "back to NRB", "HR returned to NSR", "sinus
    # brady"
    "nrb nc simv imv ps peep bipap nsr svt afib vfib vtach brady tachy neg approx poss "
    # airway: "returned to CCU intubated", "arrived from floor intubated"
    "intubated intubation intub extubated extubation reintubated reintubation vented"
)
# Medical specialties and hospital services, written out or short ("seen by Cardiology", "per
# ID", "Pain Service", "f/u in ENT clinic"): a department, never a person or a place.
SPECIALTY_WORDS = frozenset(
    words(
        "cardiology cards neurology urology oncology onc hematology heme nephrology renal "
        "pulmonary pulm pulmonology gastroenterology gi hepatology endocrinology rheumatology "
        "rheum dermatology derm psychiatry psych psychology ophthalmology ophtho optometry "
        "otolaryngology ent id geriatrics pediatrics peds obstetrics gynecology gyn obgyn "
        "orthopedics orthopaedics podiatry radiology ir anesthesia anesthesiology cardiothoracic "
        "neurosurgery plastics palliative pain immunology audiology physiatry nutrition ot slp "
        "chaplaincy pcp anticoagulation dialysis transplant consult consults service services"
    )
)
CLINICAL_VOCABULARY = frozenset(WARD_WORDS) | frozenset(CLINICAL_SHORTHAND) | SPECIALTY_WORDS
# Given names that are also everyday English words: a name only with a cue ("daughter Hope").
ENGLISH_WORD_NAMES: frozenset[str] = frozenset(
    words(
        "pleasant amber pearl frank flora trace hall hope rose grace joy faith will mark bill art "
        "pat sue rob don gene guy jack sandy dawn summer autumn april june may august rich ray "
        "ward wood young king love page major chase lane dale glen bell case gray grey green "
        "brown white black long short hunter cash price holly ivy iris daisy ginger honey "
        "crystal jewel ruby star sky river storm penny sterling earnest constance patience "
        "prudence charity mercy felicity precious angel cherry candy misty sunny sherry brandy "
        "carol christian norman royal noble early born lay sage lea"
    )
)
# US states, their USPS codes (with DC and the territories) and the traditional abbreviations
# that are no English or clinical word. A state is no identifier under Safe Harbor, which
# removes only "geographic subdivisions smaller than a state".
US_STATE_NAMES = (
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut",
    "delaware", "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas",
    "kentucky", "louisiana", "maine", "maryland", "massachusetts", "michigan", "minnesota",
    "mississippi", "missouri", "montana", "nebraska", "nevada", "new hampshire", "new jersey",
    "new mexico", "new york", "north carolina", "north dakota", "ohio", "oklahoma", "oregon",
    "pennsylvania", "rhode island", "south carolina", "south dakota", "tennessee", "texas",
    "utah", "vermont", "virginia", "washington", "west virginia", "wisconsin", "wyoming",
)  # fmt: skip
US_STATE_CODES = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
)  # fmt: skip
US_STATE_ABBREVIATIONS = frozenset(
    words(
        "ala ariz ark calif colo conn fla ill kan kans ky mich minn mont neb nebr nev okla ore "
        "penn tenn tex wis wisc wyo"
    )
)


def is_us_state(value: str) -> bool:
    """`value` is a US state's name, code ("OH", "N.H.") or abbreviation ("Fla.") and nothing
    else."""
    value = " ".join(value.strip(" \t.,;:").split())
    return (
        value.lower() in US_STATE_NAMES
        or value.replace(".", "").upper() in US_STATE_CODES
        or value.lower() in US_STATE_ABBREVIATIONS
    )


FIRST_NAME_LOCALES = ("en", "en_US", "en_GB", "en_IE", "en_NZ", "en_CA", "en_AU")
LAST_NAME_LOCALES = (
    "en", "en_US", "en_GB", "en_IE", "en_NZ", "de_DE", "fr_FR", "it_IT", "es_ES", "es_MX",
    "pt_BR", "pt_PT", "nl_NL", "pl_PL", "sv_SE", "no_NO", "da_DK", "fi_FI", "cs_CZ", "hu_HU",
    "ro_RO", "hr_HR", "sk_SK", "sl_SI", "lt_LT", "lv_LV", "et_EE", "tr_TR", "id_ID", "fil_PH",
    "en_IN", "en_NG", "en_KE", "ga_IE", "ig_NG", "ha_NG", "sw", "tw_GH", "vi_VN",
)  # fmt: skip


def build_common_words(medquad_file: Path, ddxplus_dir: Path, pubmedqa_file: Path) -> list[str]:
    """Words in >= MIN_DOCUMENTS MedQuAD answers, >= MIN_ABSTRACTS PubMedQA abstracts, all
    DDXPlus texts, and the ward, shorthand, specialty and word-name lists above."""
    df: Counter[str] = Counter()
    with gzip.open(medquad_file, "rt", encoding="utf-8") as f:
        for line in f:
            df.update(set(words(json.loads(line)["answer"])))
    common = {w for w, n in df.items() if n >= MIN_DOCUMENTS}
    abstracts: Counter[str] = Counter()
    for record in json.loads(pubmedqa_file.read_text(encoding="utf-8")).values():
        text = " ".join([record["QUESTION"], *record["CONTEXTS"], record.get("LONG_ANSWER", "")])
        abstracts.update(set(words(text)))
    common.update(w for w, n in abstracts.items() if n >= MIN_ABSTRACTS)
    for name in ("release_conditions.json", "release_evidences.json"):
        for value in _strings(json.loads((ddxplus_dir / name).read_text(encoding="utf-8"))):
            common.update(words(value))
    common.update(WARD_WORDS, CLINICAL_SHORTHAND, SPECIALTY_WORDS, ENGLISH_WORD_NAMES)
    return sorted(w for w in common if len(w) > 1)


def _strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() if not k.endswith("-fr") for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    lines = COMMON_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


# Past tenses and adverbs of common words ("arrived", "trached", "incredibly") are common too,
# and so is a verb in "-ated" whose noun in "-ation" is ("intubated", "sedated").
# Not plurals or "-ing" forms: surnames such as "Burns", "Wells", "Manning" take those shapes.
_INFLECTIONS = (
    (re.compile(r"(\w{3,})ated$"), (r"\1ation",)),  # "intubated": "intubation" is common
    (re.compile(r"(\w{3,})ied$"), (r"\1y",)),
    (re.compile(r"(\w{2,})(\w)\2ed$"), (r"\1\2",)),  # "dropped" -> "drop"
    (re.compile(r"(\w{3,})ed$"), (r"\1", r"\1e")),  # "switched", "arrived"
    (re.compile(r"(\w{3,})(ib|ab)ly$"), (r"\1\2le",)),  # "incredibly"
    (re.compile(r"(\w{3,}(?:al|ful|ous|ive|ent|ant))ly$"), (r"\1",)),  # "currently"
)


def is_common(word: str) -> bool:
    """`word` (lower case) is a common word, a past tense or adverb of one, or hyphenated
    common words ("care-managed")."""
    common = common_words()
    if word in common:
        return True
    if "-" in word.strip("-"):
        return all(is_common(part) for part in word.split("-") if part)
    for pattern, stems in _INFLECTIONS:
        if (m := pattern.fullmatch(word)) and any(m.expand(s) in common for s in stems):
            return True
    return False


def _faker_names(attribute: str, locales: tuple[str, ...]) -> frozenset[str]:
    names: set[str] = set()
    for locale in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ModuleNotFoundError:
            continue
        for name in getattr(provider, attribute, ()):
            names.update(w for w in words(name) if len(w) >= 3)
    return frozenset(names)


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    return _faker_names("first_names", FIRST_NAME_LOCALES)


@lru_cache(maxsize=1)
def last_names() -> frozenset[str]:
    return _faker_names("last_names", LAST_NAME_LOCALES)


def is_name(word: str) -> bool:
    """A given name or surname of the gazetteer (lower-case `word`)."""
    return word in first_names() or word in last_names()


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate data/common_words.txt")
    parser.add_argument(
        "--medquad",
        type=Path,
        default=Path("data/external/medquad/medquad_qa_collections_1-9.jsonl.gz"),
    )
    parser.add_argument("--ddxplus", type=Path, default=Path("data/external/ddxplus"))
    parser.add_argument(
        "--pubmedqa", type=Path, default=Path("data/external/pubmedqa-pqal/ori_pqal.json")
    )
    args = parser.parse_args()
    common = build_common_words(args.medquad, args.ddxplus, args.pubmedqa)
    header = (
        "# Generated by `python -m governance.deid.lexicon`: words in >= "
        f"{MIN_DOCUMENTS} MedQuAD answers\n"
        "# (NIH, CC BY 4.0: Ben Abacha & Demner-Fushman 2019), in >= "
        f"{MIN_ABSTRACTS} PubMedQA abstracts (MIT),\n"
        "# or in DDXPlus texts (CC BY 4.0),\n"
        "# plus ward abbreviations, nursing shorthand, specialties and given names that are\n"
        "# everyday words.\n"
        "# One lower-case word a line.\n"
    )
    COMMON_WORDS_FILE.write_text(header + "\n".join(common) + "\n", encoding="utf-8")
    print(f"{len(common)} words -> {COMMON_WORDS_FILE}")


if __name__ == "__main__":
    main()
