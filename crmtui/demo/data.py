"""The demo's fixed data: its constants, the reference data its people, companies and notes are
drawn from, and the sales team it runs as (:mod:`crmtui.demo` seeds from these)."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_EMAIL = "alex.morgan@brightline.example.com"
SYNC_TAG_NAME = "Google"
HOME_ZONE = "Europe/Paris"
DEFAULT_CONTACTS = 300
SYNC_TAG_SIZE = 40
DEMO_SEED = 7
GOOGLE_STATE_FILE = "google-emulator.json"  # the emulator's state, in the demo's directory


# --------------------------------------------------------------------------- reference data


@dataclass(frozen=True, slots=True)
class _Locale:
    country: str
    region_tag: str  # the corporate sales-region tag
    phone_prefix: str
    phone_pattern: str  # "#" stands for a digit
    given: tuple[str, ...]
    family: tuple[str, ...]
    cities: tuple[tuple[str, str, str], ...]  # city, region, postal code
    streets: tuple[str, ...]  # "{n}" stands for a house number


_LOCALES = (
    _Locale("France", "EMEA", "+33", "1 ## ## ## ##",
            ("Amélie", "Céline", "Hélène", "Loïc", "François", "Jérôme", "Gaëlle", "Benoît",
             "Inès", "Théo", "Zoé", "Maëlys"),
            ("Dubois", "Lefèvre", "Moreau", "Girard", "Rousseau", "Lemaître", "Fournier",
             "Chevalier", "Mercier", "Bérard"),
            (("Paris", "", "75008"), ("Lyon", "", "69002"), ("Nantes", "", "44000"),
             ("Bordeaux", "", "33000")),
            ("{n} rue de la Paix", "{n} avenue Jean Jaurès", "{n} boulevard Haussmann")),
    _Locale("Germany", "EMEA", "+49", "30 ### ####",
            ("Jürgen", "Jörg", "Anja", "Katrin", "Uwe", "Lena", "Maximilian", "Sören", "Käthe",
             "Günter"),
            ("Müller", "Schröder", "Weiß", "Groß", "Köhler", "Schäfer", "Krüger", "Hoffmann",
             "Becker", "Böhm"),
            (("Berlin", "", "10115"), ("München", "", "80331"), ("Hamburg", "", "20095"),
             ("Köln", "", "50667")),
            ("Friedrichstraße {n}", "Königsallee {n}", "Hauptstraße {n}")),
    _Locale("Spain", "EMEA", "+34", "91 ### ## ##",
            ("José", "María", "Sofía", "Álvaro", "Lucía", "Íñigo", "Begoña", "Nuria", "Raúl",
             "Andrés"),
            ("García", "Martínez", "Núñez", "Peña", "Ibáñez", "Gómez", "Sánchez", "Muñoz",
             "Jiménez", "Cortés"),
            (("Madrid", "", "28013"), ("Barcelona", "", "08001"), ("Sevilla", "", "41001"),
             ("Valencia", "", "46002")),
            ("Calle de Alcalá {n}", "Gran Vía {n}", "Passeig de Gràcia {n}")),
    _Locale("Portugal", "EMEA", "+351", "21 ### ####",
            ("João", "Conceição", "Gonçalo", "Inês", "Tomás", "Luís", "Leonor", "Sebastião"),
            ("Gonçalves", "Magalhães", "Araújo", "Simões", "Brandão", "Falcão", "Lourenço"),
            (("Lisboa", "", "1100-148"), ("Porto", "", "4000-322"), ("Coimbra", "", "3000-214")),
            ("Rua Augusta {n}", "Avenida da Liberdade {n}")),
    _Locale("Poland", "EMEA", "+48", "22 ### ## ##",
            ("Łukasz", "Małgorzata", "Paweł", "Wojciech", "Zofia", "Katarzyna", "Michał",
             "Agnieszka"),
            ("Kowalczyk", "Wójcik", "Zieliński", "Lewandowski", "Dąbrowska", "Szymańska",
             "Kozłowski", "Woźniak"),
            (("Warszawa", "", "00-001"), ("Kraków", "", "30-001"), ("Gdańsk", "", "80-001"),
             ("Wrocław", "", "50-001")),
            ("ul. Marszałkowska {n}", "ul. Floriańska {n}")),
    _Locale("Czechia", "EMEA", "+420", "2## ### ###",
            ("Jiří", "Tomáš", "Kateřina", "Lucie", "Petr", "Zuzana", "Ondřej", "Veronika"),
            ("Novák", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Růžička"),
            (("Praha", "", "110 00"), ("Brno", "", "602 00")),
            ("Václavské náměstí {n}", "Národní {n}")),
    _Locale("Sweden", "EMEA", "+46", "8 ### ### ##",
            ("Åsa", "Björn", "Märta", "Örjan", "Linnéa", "Ingrid", "Nils", "Elsa"),
            ("Öberg", "Åström", "Lindqvist", "Sjöberg", "Ekström", "Nyström", "Bergström"),
            (("Stockholm", "", "111 22"), ("Göteborg", "", "411 01"), ("Malmö", "", "211 22")),
            ("Drottninggatan {n}", "Storgatan {n}")),
    _Locale("Denmark", "EMEA", "+45", "## ## ## ##",
            ("Søren", "Mette", "Jens", "Frederikke", "Rasmus", "Ida", "Mads"),
            ("Jørgensen", "Sørensen", "Nørgaard", "Kjær", "Møller", "Holm", "Dahl"),
            (("København", "", "1050"), ("Aarhus", "", "8000"), ("Odense", "", "5000")),
            ("Strøget {n}", "Nørregade {n}")),
    _Locale("Iceland", "EMEA", "+354", "5## ####",
            ("Guðrún", "Sigurður", "Þóra", "Jón", "Björk", "Ólafur"),
            ("Jónsdóttir", "Sigurðsson", "Ólafsdóttir", "Guðmundsson", "Einarsson"),
            (("Reykjavík", "", "101"), ("Akureyri", "", "600")),
            ("Laugavegur {n}", "Hafnarstræti {n}")),
    _Locale("Türkiye", "EMEA", "+90", "212 ### ## ##",
            ("Çağlar", "Gökhan", "Şebnem", "Ayşe", "Emre", "Özlem", "Barış", "Gülşen"),
            ("Yılmaz", "Öztürk", "Çelik", "Şahin", "Doğan", "Aydın", "Kılıç"),
            (("İstanbul", "", "34000"), ("Ankara", "", "06000"), ("İzmir", "", "35000")),
            ("İstiklal Caddesi No: {n}", "Bağdat Caddesi No: {n}")),
    _Locale("Ireland", "EMEA", "+353", "1 ### ####",
            ("Siobhán", "Seán", "Niamh", "Oisín", "Aoife", "Ciarán", "Róisín"),
            ("O'Connor", "Murphy", "Kelly", "Byrne", "Walsh", "McCarthy", "Ó Briain"),
            (("Dublin", "", "D02 X285"), ("Cork", "", "T12 R2YF"), ("Galway", "", "H91 E2K3")),
            ("{n} Grafton Street", "{n} Patrick Street")),
    _Locale("Japan", "APAC", "+81", "3-####-####",
            ("Haruto", "Yūki", "Sakura", "Kenta", "Aiko", "Takeshi", "Yui", "Ren", "Shōta",
             "Mei"),
            ("Satō", "Suzuki", "Takahashi", "Tanaka", "Itō", "Yamamoto", "Nakamura", "Kobayashi",
             "Katō", "Ōno"),
            (("Tōkyō", "", "100-0005"), ("Ōsaka", "", "530-0001"), ("Kyōto", "", "600-8001"),
             ("Yokohama", "", "220-0012")),
            ("{n}-2 Marunouchi", "{n}-5 Umeda")),
    _Locale("India", "APAC", "+91", "98### #####",
            ("Aarav", "Priya", "Ananya", "Rohan", "Vikram", "Sneha", "Arjun", "Kavya"),
            ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Mehta", "Banerjee"),
            (("Mumbai", "Maharashtra", "400001"), ("Bengaluru", "Karnataka", "560001"),
             ("Pune", "Maharashtra", "411001"), ("Chennai", "Tamil Nadu", "600001")),
            ("{n} MG Road", "{n} Linking Road")),
    _Locale("Vietnam", "APAC", "+84", "24 #### ####",
            ("Minh", "Thảo", "Hùng", "Phương", "Dũng", "Hương", "Quang", "Linh"),
            ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi"),
            (("Hà Nội", "", "100000"), ("Thành phố Hồ Chí Minh", "", "700000"),
             ("Đà Nẵng", "", "550000")),
            ("{n} Đường Lê Lợi", "{n} Phố Huế")),
    _Locale("United States", "Americas", "+1", "212-###-####",
            ("Emily", "Michael", "Jessica", "Tyler", "Ashley", "Brandon", "Madison", "Dwayne"),
            ("Johnson", "Williams", "O'Brien", "Miller", "Davis", "Rodríguez", "Thompson",
             "Nguyen"),
            (("New York", "NY", "10001"), ("Austin", "TX", "73301"), ("Chicago", "IL", "60601"),
             ("Seattle", "WA", "98101")),
            ("{n} Madison Avenue", "{n} Congress Avenue", "{n} Pike Street")),
    _Locale("Mexico", "Americas", "+52", "55 #### ####",
            ("Ximena", "Santiago", "Guadalupe", "Joaquín", "Valentina", "Héctor", "Mónica",
             "Rubén"),
            ("Hernández", "López", "González", "Ramírez", "Castañeda", "Domínguez", "Velázquez",
             "Ordóñez"),
            (("Ciudad de México", "CDMX", "06600"), ("Guadalajara", "Jalisco", "44100"),
             ("Monterrey", "Nuevo León", "64000")),
            ("Paseo de la Reforma {n}", "Avenida Juárez {n}")),
)

_COMPANIES = (
    "Lumière Optique SA", "Müller & Söhne GmbH", "Nordvik Shipping AS", "Kōgen Robotics K.K.",
    "Café Olé Distribución SL", "Brightwater Analytics Inc.", "Zielony Most Sp. z o.o.",
    "Harbor & Pine LLC", "Vltava Software s.r.o.", "Fjällräv Outdoor AB", "Ørsted Møbler ApS",
    "Anatolia Tekstil A.Ş.", "Saffron Logistics Pvt Ltd", "Sông Hồng Trading Co.",
    "Azulejo Cerâmicas Lda", "Cascadia Coffee Roasters", "Eiríksson Fisheries ehf.",
    "Blue Lagoon Tech Ltd", "Rheinblick Versicherungen AG", "Tierra Verde Agrícola",
    "Sakura Pharma K.K.", "Atlas Freight Forwarding", "Quillon Legal LLP", "Maison Bérard",
    "Kettle & Crane Studios", "Orbital Dynamics Corp.", "Polar Grid Energy", "Helix Biotech",
    "Granite Peak Capital", "Iberia Solar SL", "Mercado Digital SA de CV", "Nimbus Cloudworks",
)

_JOB_TITLES = (
    "Chief Executive Officer", "Head of Procurement", "Sales Manager", "Account Executive",
    "Chief Financial Officer", "IT Director", "Purchasing Agent", "Marketing Lead",
    "Office Manager", "Operations Director", "Product Owner", "Software Engineer",
    "Legal Counsel", "HR Business Partner", "Logistics Coordinator", "Founder",
    "Managing Director", "Consultant", "Buyer", "Project Manager", "Data Analyst",
    "Head of Customer Success",
)

_PERSONAL_DOMAINS = ("mail.example.com", "post.example.com", "inbox.example.com")

_NOTES = (
    "Met at the {city} trade fair; interested in the premium plan.",
    "Prefers calls in the morning, {country} time.",
    "Introduced by {other}.",
    "Renewal due next quarter. Ask about the multi-year discount.",
    "Decision maker for {company}'s software purchases.",
    "Speaks English and the local language; happy to switch.",
    "Sent the price list in spring.\nWaiting for the budget approval.",
    "Keen cyclist; ask about the Tour.",
    "Do not call on Fridays.",
    "Former colleague of {other} at a previous company.",
)

_TRANSLIT = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "đ": "d", "ı": "i", "þ": "th",
                           "ð": "d", "œ": "oe"})


# --------------------------------------------------------------------------- the team


@dataclass(frozen=True, slots=True)
class _Member:
    given: str
    family: str
    email: str
    home_email: str
    job_title: str
    phone: str
    private_tags: tuple[tuple[str, int], ...]  # name, how many contacts carry it


_TEAM = (
    _Member("Alex", "Morgan", DEMO_EMAIL, "alex.morgan@mail.example.com", "Account Executive",
            "+33 1 84 88 20 10", ((SYNC_TAG_NAME, SYNC_TAG_SIZE), ("Follow up", 15),
                                  ("Christmas cards", 22))),
    _Member("Sofía", "Ramírez", "sofia.ramirez@brightline.example.com",
            "sofia.r@post.example.com", "Sales Director", "+33 1 84 88 20 11",
            (("Golf partners", 10), ("My leads", 25))),
    _Member("Kenji", "Watanabe", "kenji.watanabe@brightline.example.com",
            "kenji.w@inbox.example.com", "Key Account Manager, APAC", "+81 3-4578-1200",
            (("Tokyo trip", 12), ("Warm intros", 8))),
)

_PUBLIC_TAGS = (("Customer", 0.35), ("Prospect", 0.25), ("Partner", 0.08), ("Supplier", 0.06),
                ("Newsletter", 0.4))
_CORPORATE_TAGS = (("Key account", 0.05), ("Strategic partner", 0.03))
_REGION_TAGS = ("EMEA", "APAC", "Americas")
