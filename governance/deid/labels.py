"""Mapping each labelled corpus's PHI labels to ours (`cds.schemas.PhiType`).

`None` means the label is not a HIPAA Safe Harbor identifier and is not scored: its tokens count
neither as misses nor as false positives.
"""

PHYSIONET = {
    "PTName": "NAME",
    "PTNameInitial": "NAME",
    "HCPName": "NAME",
    "RelativeProxyName": "NAME",
    "Date": "DATE",
    "DateYear": None,  # a year alone is not an identifier under Safe Harbor
    "Age": "AGE",  # PhysioNet tags ages only when over 89
    "Phone": "PHONE",
    "Location": "LOCATION",
    "Other": "OTHER_ID",
}

PRESIDIO_RESEARCH = {
    "PERSON": "NAME",
    "STREET_ADDRESS": "LOCATION",
    "GPE": "LOCATION",
    "ZIP_CODE": "LOCATION",
    "DATE_TIME": "DATE",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_DRIVER_LICENSE": "LICENSE",
    "DOMAIN_NAME": "URL",
    "CREDIT_CARD": "ACCOUNT",
    "IBAN_CODE": "ACCOUNT",
    "AGE": None,  # any age; only ages over 89 are identifiers
    "ORGANIZATION": None,
    "TITLE": None,
    "NRP": None,
}

OURS = {
    t: t
    for t in (
        "NAME",
        "DATE",
        "AGE",
        "PHONE",
        "FAX",
        "EMAIL",
        "SSN",
        "MRN",
        "HEALTH_PLAN",
        "ACCOUNT",
        "LICENSE",
        "VEHICLE",
        "DEVICE",
        "URL",
        "IP_ADDRESS",
        "LOCATION",
        "OTHER_ID",
    )
}


def map_label(label: str, scheme: dict[str, str | None] | None = None) -> str | None:
    """Our type for a source label, looked up first in the corpus's own `scheme` (presidio's
    "AGE" is any age, ours only over 89); unknown labels are scored as OTHER_ID."""
    tables = (OURS, PHYSIONET, PRESIDIO_RESEARCH)
    for table in (scheme, *tables) if scheme is not None else tables:
        if label in table:
            return table[label]
    return "OTHER_ID"
