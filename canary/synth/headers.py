"""Reading column headers: which kind of value a Spanish, English or Portuguese header names.

"NOMBRE(S)", "Apellido Paterno", "CORREO ELECTRÓNICO", "fecha_registro", "Customer ID":
headers are compared as plain words (accents dropped, lower case, punctuation as
spaces) against phrases per kind; the longest matching phrase wins.
"""

from __future__ import annotations

import re

from canary.synth.cells import FIXED, MOBILE, fold

#: Kinds a column can have.
KINDS = (
    "email phone given_name paternal maternal surname full_name sex birth_date date age "
    "curp rfc id place category number boolean text constant empty"
).split()

#: Place-like columns, copied together from one real row so they stay consistent.
PLACE_WORDS = (
    "municipio",
    "estado",
    "entidad",
    "ciudad",
    "colonia",
    "localidad",
    "provincia",
    "canton",
    "distrito",
    "seccion",
    "cp",
    "codigo postal",
    "c p",
    "zip",
    "zip code",
    "postal code",
    "postcode",
    "city",
    "state",
    "county",
    "town",
    "country",
    "pais",
    "region",
    "domicilio",
    "direccion",
    "calle",
    "address",
    "street",
    "lada",
    "area code",
    "alcaldia",
    "barrio",
    "delegacion",
    "comuna",
    "parroquia",
    # Portuguese (Brazil): a CEP of eight digits reads like a landline number
    "cep",
    "cidade",
    "uf",
    "bairro",
    "endereco",
    "logradouro",
    # French, German
    "code postal",
    "ville",
    "plz",
    "stadt",
    "ort",
    "wohnort",
    "strasse",
    "hausnummer",
    "anschrift",
    "adresse",
    "commune",
    "departement",
    # Italian, Portuguese (Portugal)
    "cap",
    "comune",
    "citta",
    "localita",
    "indirizzo",
    "residenza",
    "luogo di nascita",
    "luogo nascita",
    "localidade",
    "morada",
    "concelho",
    "freguesia",
)

#: Headers of a second given name: sampled from the column, from rows of the canary's sex.
MIDDLE_NAME_PHRASES = ("middle name", "middle initial", "segundo nombre", "otros nombres")


# Header phrases per kind, matched on the normalised header (no accents, lower case,
# punctuation as spaces). Longer phrases win over shorter ones.
HEADER_PHRASES: dict[str, tuple[str, ...]] = {
    "email": ("correo", "correo electronico", "email", "e mail", "mail", "email address"),
    "phone": (
        "telefono",
        "tel",
        "tel movil",
        "telefono celular",
        "celular",
        "cel",
        "movil",
        "whatsapp",
        "phone",
        "phone number",
        "mobile",
        "cell",
        "cellphone",
        "numero de contacto",
        "telefono de contacto",
        # Portuguese (Brazil, Portugal)
        "telefone",
        "telemovel",
        # French, Italian, German
        "telephone",
        "portable",
        "tel portable",
        "cellulare",
        "telefono cellulare",
        "handy",
        "telefon",
        "telefonnummer",
        "mobil",
        "mobilnummer",
        "mobiltelefon",
    ),
    "given_name": (
        "nombre",
        "nombres",
        "nombre s",
        "first name",
        "firstname",
        "given name",
        "fname",
        "nome",
        "primeiro nome",
        "prenome",
        # French, Italian, German, English (Britain)
        "prenom",
        "prenoms",
        "vorname",
        "forename",
        "forenames",
        "christian name",
    ),
    "full_name": (
        "nombre completo",
        "full name",
        "name",
        "nombre del cliente",
        "customer name",
        "nombre y apellidos",
        "nombre y apellido",
        "nombres y apellidos",
        "apellido y nombre",
        "apellido y nombres",
        "apellidos y nombre",
        "apellidos y nombres",
        "apellido nombre",
        "apellidos nombres",
        "apellidos nombre",
        "last name first name",
        "candidata",
        "candidato",
        "titular",
        "nome completo",
        "nome do cliente",
        # someone else's whole name: a pupil's guardian, an emergency contact ("NOMBRE
        # ACUDIENTE" read as a given name got the pupil's mother a name of no surname
        # of the pupil's: 16 of 24)
        "nombre acudiente",
        "nombre del acudiente",
        "nombre de acudiente",
        "nombre del tutor",
        "nombre tutor",
        "nombre de tutor",
        "tutor",
        "nombre madre",
        "nombre padre",
        "madre",
        "padre",
        "nombre responsable",
        "nombre del responsable",
        "nombre de la madre",
        "nombre del padre",
        "contacto de emergencia",
        "guardian name",
        "parent name",
        "emergency contact name",
        "nom et prenom",
        "nom prenom",
        "nom complet",
        "nome e cognome",
        "cognome e nome",
        "cognome nome",
        "nominativo",
    ),
    "paternal": (
        "apellido paterno",
        "primer apellido",
        "ap paterno",
        "a paterno",
        "paterno",
        "apellido 1",
        "apellido1",
    ),
    "maternal": (
        "apellido materno",
        "segundo apellido",
        "ap materno",
        "a materno",
        "materno",
        "apellido 2",
        "apellido2",
    ),
    "surname": (
        "apellido",
        "apellidos",
        "last name",
        "lastname",
        "surname",
        "family name",
        "lname",
        "sobrenome",
        "apelido",
        "apelidos",
        "nom",
        "nom de famille",
        "nom d usage",
        "cognome",
        "nachname",
        "familienname",
    ),
    "sex": ("sexo", "genero", "gender", "sex", "sexe", "sesso", "geschlecht", "anrede"),
    "birth_date": (
        "fecha de nacimiento",
        "fecha nacimiento",
        "f nacimiento",
        "fec nac",
        "fecha nac",
        "fecha de nac",
        "f nac",
        "nacimiento",
        "date of birth",
        "birth date",
        "birthdate",
        "dob",
        "birthday",
        "data de nascimento",
        "data nascimento",
        "data nasc",
        "dt nascimento",
        "dt nasc",
        "nascimento",
        "date de naissance",
        "date naissance",
        "data di nascita",
        "data nascita",
        "geburtsdatum",
    ),
    "date": (
        "fecha",
        "date",
        "fecha de registro",
        "fecha registro",
        "registro",
        "alta",
        "created",
        "data",
        "data de cadastro",
        "cadastro",
    ),
    "age": ("edad", "age", "idade"),
    "curp": ("curp",),
    "rfc": ("rfc",),
    "id": (
        "folio",
        "id",
        "clave",
        "no",
        "num",
        "numero",
        "consecutivo",
        "customer id",
        "id cliente",
        "cliente id",
        "codigo",
        "code",
        "key",
        "record",
        "uuid",
        "no cliente",
        "numero de cliente",
        "cedula",
        # identity documents: a Colombian "DOCUMENTO" of 8 digits read as phones made
        # the canary's document a phone number, and its real phone column a second one
        "documento",
        "doc",
        # a pupil's or a professional's registration number ("20260065": eight digits
        # read as a Mexican phone, so canaries had "(222) 234-1234")
        "matricula",
        "expediente",
        "legajo",
        # a Bolivian identity card "4567891 LP" (its department after the number) read
        # as an amount: its canaries' departments were drawn apart from the row's
        "ci",
        "carnet",
        "carnet de identidad",
        "cedula de identidad",
        "identificacion",
        "dni",
        "nit",
        "pasaporte",
        # national and tax numbers by their names: Chile's RUT and RUN, Argentina's
        # CUIT and CUIL, Brazil's CPF and CNPJ, Spain's NIF and NIE, Peru's RUC,
        # Venezuela's RIF ("RUT" was read as free text: canaries "19.90.880-1")
        "rut",
        "run",
        "cuit",
        "cuil",
        "cpf",
        "cnpj",
        "nif",
        "nie",
        "ruc",
        "rif",
        # Guatemala's DPI and the number it carries, the CUI: 13 digits read as an
        # amount, its canaries' last four (department, municipality) drawn at random
        "dpi",
        "cui",
        "national id",
        "tax id",
        # Italy's codice fiscale, Britain's National Insurance number, France's NIR,
        # a member's or tenancy's reference
        "identidad",
        "numero de identidad",
        "tarjeta de identidad",
        "codice fiscale",
        "cf",
        "ni number",
        "national insurance number",
        "nir",
        "sin",
        "social insurance number",
        "ssn",
        "social security number",
        "ref",
        "ref no",
        "tenancy ref",
        "customer ref",
        "reference",
        "adherent",
    ),
    "place": PLACE_WORDS,
    "number": (
        "monto",
        "importe",
        "saldo",
        "amount",
        "total",
        "precio",
        "price",
        "balance",
        "pago",
    ),
    #: Cells sampled from the column as they are (a middle name is not a whole name).
    "text": (*MIDDLE_NAME_PHRASES, "observaciones", "notes"),
    "category": (
        # a civil status, not a state ("ESTADO CIVIL" read as a place)
        "estado civil",
        "estado conyugal",
        "civil status",
        "marital status",
        # how another person of the row is related ("PARENTESCO_TUTOR": MADRE, PADRE)
        "parentesco",
        "relacion",
        "relationship",
        "partido",
        "party",
        "status",
        "estatus",
        "tipo",
        "type",
        "cargo",
        "categoria",
        # the kind of document ("CC", "TI"), not its number
        "tipo documento",
        "tipo de documento",
        "tipo doc",
        "tipo identificacion",
        "tipo de identificacion",
    ),
}


def norm_header(name: str) -> str:
    """A header as words: accents dropped, lower case, punctuation as single spaces."""
    # "NOMBRE1", "APELLIDO_2", "TEL1": a number ending a word is a word of its own
    # "N° adhérent": a degree sign for the ordinal's º ("Nº cliente" folds to "no")
    # "Straße": ß is two letters, not none
    folded = re.sub(r"(?<![a-z])n\s*°", "no ", fold(name.replace("ß", "ss").replace("ẞ", "SS")))
    spaced = re.sub(r"(?<=[a-z])(?=\d)", " ", folded)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", spaced).split())


def kind_from_header(name: str) -> str | None:
    """The kind a header names, or None when it says nothing recognisable."""
    h = norm_header(name)
    if not h:
        return None
    words = h.split()
    found = _best(h, words)
    if found is None:  # "telefonos", "celulares", "emails": the singular's kind
        singular = [_singular(w) for w in words]
        if singular != words:
            found = _best(" ".join(singular), singular)
    return found


#: Short words that name a kind only as the whole header: "Nom" is a surname, "Nom du
#: produit" is not; "SIN" is Canada's number, "Sin cita" is Spanish for "without".
WHOLE_ONLY = frozenset({"nom", "sin", "cf", "cap", "ort", "nir", "ref", "cui", "dpi", "ci"})


def _best(h: str, words: list[str]) -> str | None:
    best: tuple[int, str] | None = None
    for kind, phrases in HEADER_PHRASES.items():
        for p in phrases:
            pw = p.split()
            hit = h == p or (p not in WHOLE_ONLY and _contains(words, pw))
            if hit and (best is None or len(p) > best[0]):
                best = (len(p), kind)
    return best[1] if best else None


def _singular(word: str) -> str:
    """A plural header word's singular when that is a word the phrases use."""
    for cut in (2, 1):
        if len(word) > cut + 2 and word.endswith("es"[-cut:]) and word[:-cut] in _PHRASE_WORDS:
            return word[:-cut]
    return word


_PHRASE_WORDS = {w for phrases in HEADER_PHRASES.values() for p in phrases for w in p.split()}


def _contains(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


_EN_WORDS = {
    "email", "mail", "phone", "mobile", "cell", "first", "last", "name", "surname", "gender",
    "sex", "birth", "date", "age", "city", "state", "zip", "county", "address", "amount",
    "customer", "total", "price", "balance", "created", "code", "key", "street", "country",
    "dob", "birthday", "status", "type", "party", "id",
}  # fmt: skip


def _en(header: str) -> str:
    return " ".join(w for w in norm_header(header).split() if w in _EN_WORDS and w != "id")


#: Words of a phone column's header that say which line it holds ("Celular",
#: "Teléfono fijo", "Home phone").
MOBILE_HEADER_WORDS = frozenset(
    "celular celulares cel movil moviles mobile cell cellphone whatsapp portable cellulare "
    "handy mobil mobiltelefon telemovel".split()
)
FIXED_HEADER_WORDS = frozenset(
    "fijo fijos fixo casa domicilio particular residencial residencia home landline "
    "oficina office trabajo work laboral".split()
)


def phone_line_of_header(name: str) -> str:
    """`MOBILE` or `FIXED` when a phone column's header names its line, else ""."""
    words = set(norm_header(name).split())
    if words & MOBILE_HEADER_WORDS:
        return MOBILE
    if words & FIXED_HEADER_WORDS:
        return FIXED
    return ""


def is_middle_name(name: str) -> bool:
    """Whether a header names a second given name ("MIDDLE_NAME", "SEGUNDO NOMBRE")."""
    h = norm_header(name)
    return any(h == p or _contains(h.split(), p.split()) for p in MIDDLE_NAME_PHRASES)
