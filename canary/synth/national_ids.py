"""Mexican CURP and RFC, and the first fifteen characters of an Italian codice fiscale,
built from a person's names, birth date and sex.

A canary in a Mexican registry needs a CURP that agrees with its own row (the first
letters of its surnames and name, its birth date, its sex) and carries a valid check
digit, or any validator would single it out.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

CURP_CHARS = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"
CURP_RE = re.compile(r"^[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{2}[B-DF-HJ-NP-TV-Z]{3}[A-Z0-9]\d$")
VOWELS = "AEIOU"
PARTICLES = {
    "DA", "DAS", "DE", "DEL", "DER", "DI", "DIE", "DD", "EL", "LA", "LOS", "LAS", "LE", "LES",
    "MAC", "MC", "VAN", "VON", "Y",
}  # fmt: skip
COMMON_FIRST = {"MARIA", "MA", "MA.", "JOSE", "J", "J."}
#: Four-letter starts RENAPO replaces (second letter becomes X).
INCONVENIENT = {
    "BACA", "BAKA", "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE",
    "COGI", "COJA", "COJE", "COJI", "COJO", "COLA", "CULO", "FALO", "FETO", "GETA", "GUEI",
    "GUEY", "JETA", "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KAKA", "KAKO", "KOGE", "KOGI",
    "KOJA", "KOJE", "KOJI", "KOJO", "KOLA", "KULO", "LILO", "LOCA", "LOCO", "LOKA", "LOKO",
    "MAME", "MAMO", "MEAR", "MEAS", "MEON", "MIAR", "MION", "MOCO", "MOKO", "MULA", "MULO",
    "NACA", "NACO", "PEDA", "PEDO", "PENE", "PIPI", "PITO", "POPO", "PUTA", "PUTO", "QULO",
    "RATA", "ROBA", "ROBE", "ROBO", "RUIN", "SENO", "TETA", "VACA", "VAGA", "VAGO", "VAKA",
    "VUEI", "VUEY", "WUEI", "WUEY",
}  # fmt: skip


def _plain(text: str) -> str:
    """Upper case, accents dropped, Ñ kept as Ñ, only letters and spaces."""
    out = []
    for c in text.upper():
        if c == "Ñ":
            out.append(c)
            continue
        d = unicodedata.normalize("NFKD", c)
        out.append("".join(x for x in d if not unicodedata.combining(x)))
    return re.sub(r"[^A-ZÑ ]", " ", "".join(out))


def _word(name: str, *, given: bool = False) -> str:
    """The word of a (possibly compound) name that the CURP uses."""
    words = [w for w in _plain(name).split() if w not in PARTICLES]
    if given and len(words) > 1 and words[0] in COMMON_FIRST:
        words = words[1:]
    return words[0] if words else ""


def name_letters(name: str) -> str:
    """A name's letters, upper case, accents dropped (Ñ kept), without spaces."""
    return _plain(name).replace(" ", "")


def name_word(name: str) -> str:
    """A (possibly compound) name's first word that is not a particle ("DE LA CRUZ": CRUZ)."""
    return _word(name)


def _first_inner(word: str, vowels: bool) -> str:
    for c in word[1:]:
        if (c in VOWELS) == vowels and c.isalpha():
            return "X" if c == "Ñ" else c
    return "X"


def _letter(word: str) -> str:
    if not word:
        return "X"
    return "X" if word[0] == "Ñ" else word[0]


def name_key(given: str, paternal: str, maternal: str) -> str:
    """The four letters a CURP and an RFC start with."""
    p, m, g = _word(paternal), _word(maternal), _word(given, given=True)
    key = _letter(p) + _first_inner(p, True) + _letter(m) + _letter(g)
    if key in INCONVENIENT:
        key = key[0] + "X" + key[2:]
    return key


def check_digit(first17: str) -> str:
    """The CURP's 18th character, computed from the first 17."""
    total = sum(CURP_CHARS.index(c) * (18 - i) for i, c in enumerate(first17))
    return str((10 - total % 10) % 10)


def make_curp(
    given: str, paternal: str, maternal: str, birth: date, sex: str, state: str, homoclave: str
) -> str:
    """A CURP consistent with the person: sex "F"/"M", state a 2-letter RENAPO code.

    `homoclave` is any character; it is mapped to a digit (born before 2000) or a
    letter (2000 and later), as RENAPO assigns them.
    """
    p, m, g = _word(paternal), _word(maternal), _word(given, given=True)
    h = ord(homoclave[:1] or "0")
    homo = str(h % 10) if birth.year < 2000 else chr(ord("A") + h % 26)
    body = (
        name_key(given, paternal, maternal)
        + birth.strftime("%y%m%d")
        + ("M" if sex == "F" else "H")
        + (state.upper() + "NE")[:2]
        + _first_inner(p, False)
        + _first_inner(m, False)
        + _first_inner(g, False)
        + homo
    )
    return body + check_digit(body)


def curp_valid(curp: str) -> bool:
    """True when a CURP has the right shape and check digit."""
    c = curp.strip().upper()
    return bool(CURP_RE.match(c)) and check_digit(c[:17]) == c[17]


def make_rfc(given: str, paternal: str, maternal: str, birth: date) -> str:
    """A person's RFC: the CURP's four letters, YYMMDD, the two characters the SAT
    computes from the whole name (`rfc_homoclave`) and the check digit."""
    from stdnum.mx import rfc

    body = (
        name_key(given, paternal, maternal)
        + birth.strftime("%y%m%d")
        + rfc_homoclave(given, paternal, maternal)
    )
    return body + str(rfc.calc_check_digit(body))


#: The characters of the SAT's homoclave, by the quotient and the rest of 34.
SAT_HOMOCLAVE = "123456789ABCDEFGHIJKLMNPQRSTUVWXYZ"


def _sat_pair(ch: str) -> str:
    """A character's two digits in the SAT's homoclave table."""
    if ch.isdigit():
        return "0" + ch
    if ch == "&":
        return "10"
    if ch == "Ñ":
        return "40"
    for first, start in (("A", 11), ("J", 21), ("S", 32)):
        if first <= ch <= chr(ord(first) + 8) and "A" <= ch <= "Z":
            return str(start + ord(ch) - ord(first))
    return "00"  # a space


def rfc_homoclave(given: str, paternal: str, maternal: str) -> str:
    """The first two characters of an RFC's homoclave, as the SAT computes them from the
    whole name ("PATERNO MATERNO NOMBRES"): drawn at random, 24 of 24 canaries of a
    payroll held one that no validator following the SAT's algorithm gives their name."""
    full = " ".join(_plain(" ".join(x for x in (paternal, maternal, given) if x)).split())
    digits = "0" + "".join(_sat_pair(ch) for ch in full)
    total = sum(int(digits[i : i + 2]) * int(digits[i + 1]) for i in range(len(digits) - 1))
    rest = total % 1000
    return SAT_HOMOCLAVE[rest // 34] + SAT_HOMOCLAVE[rest % 34]


#: The codice fiscale's month letters, January to December.
CF_MONTHS = "ABCDEHLMPRST"


def _cf_letters(name: str, *, given: bool) -> str:
    """The three letters a codice fiscale takes of a surname (its consonants, then its
    vowels, then X) or of given names (the first, third and fourth consonant where
    they hold four or more)."""
    letters = [c for c in _plain(name).replace("Ñ", "N") if "A" <= c <= "Z"]
    consonants = [c for c in letters if c not in VOWELS]
    if given and len(consonants) >= 4:
        consonants = [consonants[0], consonants[2], consonants[3]]
    return "".join([*consonants, *(c for c in letters if c in VOWELS), "X", "X", "X"][:3])


def codice_fiscale_body(surname: str, given: str, birth: date, sex: str, town: str) -> str:
    """An Italian codice fiscale without its check character: three letters of the
    surname, three of the given names, the birth's year, month letter and day (plus 40
    for a woman), and the four-character code of the town of birth."""
    day = birth.day + (40 if sex == "F" else 0)
    return (
        _cf_letters(surname, given=False)
        + _cf_letters(given, given=True)
        + f"{birth.year % 100:02d}{CF_MONTHS[birth.month - 1]}{day:02d}"
        + town.upper()
    )
