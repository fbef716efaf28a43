"""Each registered recognizer against a table of texts: what must be found, what must not."""

import pytest

from governance.deid.recognizers import RECOGNIZERS

# recognizer -> (text, PHI substring that must be masked)
FOUND = {
    "NameRecognizer": [
        ("seen by dr healey this am", "healey"),
        ("wife Peggy at bedside", "Peggy"),
        ("Attending: Maria Lopez", "Maria Lopez"),
        ("plan d/w Bean RN", "Bean"),
        # a title with no space, an initial, a list, ALL-CAPS and ordinary-word surnames
        ("METABOLIC ALK. DR.KOWALSKI AWARE", "KOWALSKI"),
        ("lytes checked, Dr T Okafor in to see pt", "Okafor"),
        ("Drs Lindqvist and Moreau in to see pt", "Moreau"),
        ("PER DR. BAKER, WEAN AS TOLERATED", "BAKER"),
        ("BP 88/40, NP DELACROIX MADE AWARE", "DELACROIX"),
        ("ASKED FOR RABBI- RABBI STEINER CAME TO SUPPORT", "STEINER"),
        ("PLAN TO FOLLOW LYTES.\nBERNADETTE OKONKWO RN", "OKONKWO"),
        ("vent weaned.  marisol quintero np into eval.", "quintero"),
        # a title makes a specialty-shaped word a surname, after an initial too
        ("Dr. Pain saw pt", "Pain"),
        ("seen by Dr T Pain this am", "Pain"),
    ],
    "ClinicalDateRecognizer": [
        ("found on floor 7/22 by husband", "7/22"),
        ("admitted 09/03/1997", "09/03/1997"),
        ("seen on the 3rd of May", "3rd of May"),
        ("symptoms since last Tuesday", "last Tuesday"),
        ("returns March 14, 2024", "March 14, 2024"),
        ("PMH: CABG '04, stent '11", "'04"),
        # a two-digit year beside an event on a history line, before or after it
        ("PMH: CAD s/p AMI 07, 11 CABG x3", "07"),
        ("PMH: CAD s/p AMI 07, 11 CABG x3", "11"),
        # a score word before a day that is no scale's maximum: a date
        ("CHEST PAIN FREE (NO RECURRENCE) 10/21. SON AWARE", "10/21"),
    ],
    "AgeOver89Recognizer": [("a 93 yo woman", "93"), ("age: 101", "101")],
    "PhoneNumberRecognizer": [
        ("call (617) 555-0123 today", "(617) 555-0123"),
        ("cell 555-0199", "555-0199"),
        ("family can be reached at 410 5550123 tonight", "410 5550123"),
    ],
    "FaxRecognizer": [("fax 617-555-0100", "617-555-0100")],
    "EmailAddressRecognizer": [("mail j.doe@example.com now", "j.doe@example.com")],
    "WebAddressRecognizer": [
        ("see https://portal.example.org/p/1", "https://portal.example.org/p/1")
    ],
    "IpAddressRecognizer": [("host 10.2.33.4 logged", "10.2.33.4")],
    "SsnRecognizer": [("SSN 123-45-6789", "123-45-6789")],
    "MrnRecognizer": [("MRN: 00482913", "00482913")],
    "HealthPlanRecognizer": [("Member ID: W123456789", "W123456789")],
    "AccountRecognizer": [
        ("account # 99887766", "99887766"),
        ("limit for card 501864667909?", "501864667909"),
    ],
    "LicenseRecognizer": [("DEA: AB1234563", "AB1234563")],
    "VehicleRecognizer": [("VIN 1HGCM82633A004352", "1HGCM82633A004352")],
    "DeviceRecognizer": [("pacemaker serial no. PJN123456", "PJN123456")],
    "OtherIdRecognizer": [("specimen ID: SP-20931", "SP-20931")],
    "StreetAddressRecognizer": [("lives at 12 Oak Street with son", "12 Oak Street")],
    "HouseNumberLastRecognizer": [
        ("Billing address:\n28245 Puruntie 82\nLappeenranta", "28245 Puruntie 82")
    ],
    "InternationalPhoneRecognizer": [
        ("Desk: +41 (0)96 471 07 95", "+41 (0)96 471 07 95"),
        ("Mobile:\n0490 39 07 81", "0490 39 07 81"),
        ("416 60 039 office", "416 60 039"),
    ],
    "PaymentCardRecognizer": [("charged to 4111 1111 1111 1111 today", "4111 1111 1111 1111")],
    "BankIbanRecognizer": [
        ("IBAN GB82 WEST 1234 5698 7654 32 on file", "GB82 WEST 1234 5698 7654 32")
    ],
    "CityStateZipRecognizer": [("Home: 5 Elm Rd, Springfield, IL 62704", "Springfield")],
    "GazetteerNameRecognizer": [
        ("HOUSE STAFF mary souza AWARE", "mary souza"),
        ("ORDERED BY J SMITH THIS AM", "J SMITH"),
        ("CASE MANAGEMENT TO CONTACT KAREN ANN WOJCIK", "ANN WOJCIK"),
        ("son in all day, very supportive to pt, Thomas. daughter flying in", "Thomas"),
        # a given name that medical text also uses ("St John's wort") before a surname, and a
        # possessive
        ("JOHN SMITH VISITED TONIGHT", "JOHN SMITH"),
        ("TIMOTHY JONES CALLED TONIGHT", "TIMOTHY JONES"),  # both words are common words
        ("john smith's wife at bedside", "john smith"),
    ],
    "FacilityAcronymRecognizer": [
        ("TRANSFERRED TO GH FOR CATH", "GH"),
        ("she is followed at mgh by cardiology", "mgh"),
        # a state's code or a state university names the hospital
        ("pt transferred from NJ Hospital yesterday", "NJ"),
        ("seen at Univ of Michigan ER last week", "Univ of Michigan"),
    ],
    "TitledInitialRecognizer": [
        ("SPOKE WITH MR Q. ABOUT HIS PLAN", "Q"),
        ("Mrs K. declined the blood draw", "K"),
    ],
    "FacilityRecognizer": [
        ("transferred from Calvert Memorial Hospital", "Calvert Memorial"),
        ("WENT TO HOLY REDEEMER WITH FEVER", "HOLY REDEEMER"),
        ("pt wishes to return to St Agnes after weaning", "St Agnes"),
        ("WORKS AS AIDE @ HARFORD MEMORIAL. DAUGHTER HERE", "HARFORD MEMORIAL"),
        ("says she is at the county hospital today", "county hospital"),
        # where a plan sends the patient
        ("ASSESS: STABLE.\nPLAN: BLAKEMORE 4 WHEN BED AVAIL.", "BLAKEMORE"),
    ],
}

# Clinical text that must stay: scores, abbreviations, ordinary words.
NOT_FOUND = [
    "pain intensity 3/10, strength 5/5",
    "MS changes overnight, SAT 94% on 2L",
    "wife at bedside, son aware",
    "PMH: CAD, HTN; ST on monitor",
    # numbers on a history line that are amounts or durations, not years; state codes that are
    # words; a unit of insulin
    "PMH: MI 50% LAD lesion, s/p CABG 10 yrs ago, stent x2",
    "PT WAS IN HOSPITAL FOR 3 DAYS, OR TO HOSPITAL FLOOR",
    "10 U regular insulin given",
    "VIGOROUS COUGH, SATS HIGH 90'S, MAE, PERLA",
    "transfer to CCU when bed available; will follow up",
    "CO/CI 5.8/2.71, ABG 7.4/40/100",
    "CC: Has a cough.",
    # ventilator settings, fractions, sinus tachycardia, anatomy, everyday places
    "weaned to PS 10/5, peep 5; D5 1/2 NS at 75cc/hr; rales 1/3 up",
    "Await PT eval. Keep careful I & O. Continue PT.",
    "CV: NSR to ST HR 80s. ST ELEVATIONS RESOLVED.",
    "bleed extending into the 4th ventricle",
    "pt went to the bathroom with assist",
    "per Resident, hold heparin",
    # settings and fractions after a date cue or before a setting; volume ranges; clinical
    # abbreviations and hyphenated or inflected ordinary words after a movement verb
    "EXTUBATED FROM 5/5 CPAP, PS - 5/5 PEEP 5, wet sounds up 1/4, on 1/4 NS",
    "goal uo 600-1000cc by midnight",
    "HR returned to NSR; pt switched back to NRB; returned to SIMV",
    "ARRIVED FROM CATH-LAB STABLE",
    "son and daughter arrived at 1400, stayed overnight",
    # wards and roles in Title Case, airway words and clauses after a movement verb
    "Transfer to Medical Floor when bed available; per Interventional Fellow, hold heparin",
    "RETURNED TO CCU INTUBATED, W IAPB; arrived from floor intubated",
    "dispo: transfer to vicu was cancelled today",
    "pt may go to the bathroom following explanation of lines",
    "requiring ICU stay for inotropy; currently lives in homeless shelter",
    "FAMILY HAS BROUGHT IN LOLLIPOPS; family came in at noon and he lightened up",
    # what relatives do and are, after a relation word
    "son said that he is tired; daughter believes pt is DNR; wife is spokesperson",
    "GRANDDAUGHTER (SPOKESPERSON) CALLED; proxy is niece",
    # lab values shaped like addresses; card-length numbers that fail the Luhn check
    "HR 110 Temp 38, BUN 10 Creat 0.7",
    "charged 4111 1111 1111 1112 yesterday",
    # a state, or "OH" (outside hospital), is no identifier (Safe Harbor keeps states)
    "transferred from OH for cardiac cath; neuro work up at OH",
    "wife went back to FLA; they spend winters in Georgia",
    "family is moving from Florida. Currently staying with brother",
    # wards, nasal prongs after an oxygen flow, sides and symptom pairs before a dot
    "transported from Cath Lab to CCU",
    "ON 3L NP CRACKLES AT BASES; 2-4L NP- DROPPING TO HIGH 80'S",
    "rales R>L. Suct thick sputum; no further N/V. Zofran held",
    # what a relative has, sex words, slash-joined lab lists, S/P, time words after a verb
    "she hopes to live until her son's graduation",
    "HPI: 72yo Male admitted with chest pain",
    "LABS-K/MG/CAL. REPLACED PRN",
    "S/P cab w postop resp distress",
    "FEELING LIKE SHE IS GOING TO DIE TONITE",
    # a chief complaint is no role label; regions larger than a state are no identifiers
    "CC: Vomited after coughing.\nCC: Wheezes while inhaling.\nCC: Previously had weakness.",
    "Travel outside the country, last 4 weeks: North America\n- Travel: West Africa",
    "returned from South East Asia and sub-Saharan Africa last month",
    # specialties and the clinics and services named after them are departments
    "seen by Cardiology today; per Urology, keep foley; Seen by Pain Service",
    "f/u in Heart Failure Clinic and Neurology clinic; followed at ID clinic",
    # rhythm shorthand; eponyms, possessive or not
    "sinus brady 38-50, then sinus tachy",
    "hx of Addison's disease and Graves disease, on steroids",
    "US WITH FLUID IN DOUGLAS POUCH, GYN CONSULT",
    # a plan's dose or setting is no ward; a state after a place preposition is no name
    "plan: ativan 2 mg prn; PLAN: WEAN 2 PS",
    "they spend summers up north and retire to florida in the winter",
    # who is unnamed: "pt" after a dash, a credential after "by" or "per", a new section
    # after a relation word, a pressure after "PA"
    "SPENT 45 MINUTES ENCOURAGING PT - EXPLAINING COURSE OF CARE",
    "she did rec tet tox per rn. POSSIBLE EXTRAVASATION EVAL BY MD",
    "REC'D COLACE/MOM\n GU--VOIDING W/OUT DIFF",
    "Hemodynamics PA 54/18-70/21 after blood",
    # a list of values and a count of things are no dates; "ID:" heads a section
    "Hypotensive (70-80'2/30-40's) all AM; hands up on 1-2 pillows",
    "ID: TMAX-99, WBC 12.1, BC X2 SENT",
    "BP DROP 1/2 AFTER DOSE; CX 1/3 RT>LEFT; transfer to 3/4 floor",
    # a service before its role word; "W" is "with"; the charting system
    "Seen by Cardic Transplant surgeon. She agreed",  # (sic)
    "TRANSFERED W SEVER ISCHEMIC CARDIOMYOPATHY",
    "placed on mech vent as per Carevue. See Flowsheet",
]


def test_every_registered_recognizer_has_a_test_table():
    assert set(RECOGNIZERS) == set(FOUND)


def test_no_recognizer_shadows_a_presidio_predefined_one():
    """presidio's loader finds its predefined recognizers by class name among all subclasses:
    a recognizer of ours with the same name would replace presidio's in the baseline."""
    import presidio_analyzer.predefined_recognizers as predefined

    assert not set(RECOGNIZERS) & set(dir(predefined))


@pytest.mark.parametrize(
    ("name", "text", "phi"), [(n, t, p) for n, rows in FOUND.items() for t, p in rows]
)
def test_recognizer_finds_its_identifier(name, text, phi):
    results = RECOGNIZERS[name]().analyze(text, entities=[RECOGNIZERS[name].ENTITY])
    spans = [text[r.start : r.end] for r in results if r.score >= 0.3]
    assert any(phi in s or s in phi and len(s) >= len(phi) - 1 for s in spans), spans


@pytest.mark.parametrize(
    ("name", "text", "phi"), [(n, t, p) for n, rows in FOUND.items() for t, p in rows]
)
def test_detector_masks_it_in_context(detector, name, text, phi):
    found = detector.detect(text)
    start = text.index(phi)
    end = start + len(phi)
    assert any(d.start <= start and end <= d.end for d in found), [
        text[d.start : d.end] for d in found
    ]


@pytest.mark.parametrize("text", NOT_FOUND)
def test_clinical_text_is_not_masked(detector, text):
    assert [text[d.start : d.end] for d in detector.detect(text)] == []


# text -> the exact spans the detector masks: the identifier, not the words around it
EXACT = [
    ("WANTS TO GO HOME ON FRIDAY, FAMILY AWARE", ["FRIDAY"]),
    # the kind of facility is no identifier; its name is
    ("ADMITTED IN TRANSFER FROM DORCHESTER GENERAL HOSPITAL", ["DORCHESTER GENERAL"]),
    ("PT WAS TRANSFERED TO THE ZAGARIA CAMPUS", ["ZAGARIA"]),
    ("58 YR OLD ADMITTED TO CALVERT HOSPIATAL", ["CALVERT"]),  # (sic)
    ("radiation planning on North Campus", ["North"]),
    # a generic name in lower case is named with its kind
    ("says she is at the county hospital today", ["county hospital"]),
    ("12U INSULIN GIVEN PER K. OYELARAN NP", ["K. OYELARAN"]),
    ("social: son tobias arrived with pt", ["tobias"]),
    ("LEGAL GUARDIAN: Niece, Patricia WAITE, lives nearby", ["Patricia WAITE"]),
    ("Called pt's son Said, who will visit", ["Said"]),  # a name in Title Case, not the verb
    # a place ends at a sentence's end, not at "St." or "Mt."
    ("transferred from Mt. Sinai. Pt stable", ["Mt. Sinai"]),
    ("She moved here from New Zealand", ["New Zealand"]),  # Title Case, no ward word: a place
    # who took the patient where, and for whom one works
    ("son brought her to Holy Cross yesterday", ["Holy Cross"]),
    ("BROUGHT IN TO DORCHESTER GENERAL BY EMS", ["DORCHESTER GENERAL"]),
    ("she works for Acme Widgets", ["Acme Widgets"]),
    # a department or service after a named facility is not part of its name
    (
        "Susanview Regional Medical Center, Outpatient Clinic\nClinic Visit Note",
        ["Susanview Regional"],
    ),
    ("Yuburgh Medical Center - Emergency Department\nnote", ["Yuburgh"]),
    # a given name that is also a place word is masked where found, not everywhere after
    (
        "Lake Pamelafort General Hospital. A change in his general well-being.",
        ["Lake Pamelafort General"],
    ),
    ("Seen by Dr. West. Travel: West Africa", ["West"]),
    # a ward after a place, a title before a name, a possessive, a sentence going on after a
    # hyphen are not part of the identifier; a hyphenated given name and a city named like a
    # state (before its state and ZIP) are
    ("TRANSFERRED TO NHMC ICU. AT 2A", ["NHMC"]),
    ("sent to Marlow Grant EW where EKG done", ["Marlow Grant"]),
    ("await consult from Dr. Quintana today", ["Quintana"]),
    ("plan after dr quintana's meeting", ["quintana"]),
    ("weaned off per Dr. Ashdown-thinking is dopa", ["Ashdown"]),
    ("seen by Dr. Mary-ann Lee", ["Mary-ann Lee"]),
    ("Home: 12 Oak Shoal, West Virginia MS 33762", ["12 Oak Shoal", "West Virginia", "33762"]),
    ("moving from Tampa. Currently staying with brother", ["Tampa"]),
    # a place after a movement verb ends at a lower-case relative time word; a Title-Case
    # place that starts with one is still a place
    ("came from Dunmore two weeks ago", ["Dunmore"]),
    ("transferred from Halden ICU overnight for CT", ["Halden"]),
    ("moved from Last Chance in 2010", ["Last Chance"]),
    ("moved from Florida last year, lives alone", []),
    # after "to", only a state in lower case is no name
    ("pt's wife talked to Virginia about the plan", ["Virginia"]),
    ("SPOKE TO GEORGIA AT LENGTH", ["GEORGIA"]),
    # in a mixed-case note a name keeps its case, particles aside; a hyphenated word of
    # ordinary parts ends a name
    ("Aloe Vesta oint applied to rectal area.", ["Vesta"]),
    ("Her friend Dyan van Gijn visited.", ["Dyan van Gijn"]),
    ("BACKGROUND IN HEATH CARE-MANAGED NSG HOMES", ["HEATH"]),
    # a date after "on" with no count after it; an id after "ID:" with 3 digits
    ("returned to OR on 7-8 for coiling", ["7-8"]),
    ("extubated on 1/2 at noon, CXR 12/3 clear", ["1/2", "12/3"]),  # a fraction after a cue
    ("ID: 48213 on the wristband", ["48213"]),
    # a state's code between city and ZIP ("ID" is Idaho) and a service after a place are not
    # part of the place
    ("Home: 12 Oak Shoal, Boise ID 83702", ["12 Oak Shoal", "Boise", "83702"]),
    ("transferred from Yuburgh Cardiology", ["Yuburgh"]),
    # a name ends at its possessive, and a possessive after a given name is its surname even
    # when it is an everyday word
    ("said she was at mary white's house", ["mary white"]),
    ("lives in Dunmore area with her sister", ["Dunmore"]),  # the extent is not the name
]


@pytest.mark.parametrize(("text", "spans"), EXACT)
def test_detector_masks_the_identifier_and_not_its_context(detector, text, spans):
    assert [text[d.start : d.end] for d in detector.detect(text)] == spans


def test_inflections_of_common_words_are_common_but_surname_shapes_are_not():
    from governance.deid.lexicon import common_words, is_common

    assert {"arrive", "stay", "drop", "current"} <= common_words()
    assert all(is_common(w) for w in ("arrived", "stayed", "dropped", "currently"))
    # plurals and -ing forms are how surnames look ("Wells", "Harding"): never ordinary by rule
    assert "well" in common_words() and not is_common("wells")
    assert "hard" in common_words() and not is_common("harding")
    # hyphenated ordinary words are ordinary; a hyphenated name is not
    assert is_common("care-managed") and not is_common("mary-ann")
