"""Word lists for the synthetic long-document QA generator.

Entities that can be answers (people, companies, cities, codes) are partitioned into
disjoint train / dev / test pools by `split_pool`; filler words are shared by all splits.
"""

import random

FIRST_NAMES = """
Anna Boris Clara Dmitri Elena Farid Greta Hamid Ines Jonas Katya Lars Mira Nikos Olga Pavel
Quinn Rosa Stefan Tamar Umar Vera Wendel Xenia Yusuf Zora Adele Bruno Celia Darius Edith Fabio
Gloria Henrik Ilse Jorge Kiran Leona Marco Nadia Oscar Petra Rafael Sonja Tobias Ursula Viktor
Wanda Yara Zeno Agnes Bastian Carmen Dario Emil Flora Gideon Hana Ivo Julia Konrad Lina Milan
Noemi Otto Priya Ruben Selma Theo Uma Valentin Willa Yannick Zelda Amara Bodhi Cyrus Dalia
Enzo Fiona Goran Hedda Idris Jana Kasimir Livia Mateo Nora Orla Piet Rhea Silas Tilda Ugo Vesna
Aziz Bianca Cosmin Delia Elias Freya Gustav Helga Isak Jolene Kemal Lorna Magnus Nina Oren
Pilar Rainer Saskia Teodor Ulla Vidar Wilma Yasmin Zoltan Alma Benedikt Carla Dorian Esme
Felix Gwen Hugo Iris Jasper Kaja Leif Maren Nils Odile Paulo Runa Soren Thea Ulrik Vita
""".split()

LAST_NAMES = """
Kovac Brandt Castell Dubois Eriksen Fontaine Gallo Haddad Ivanova Jensen Kowalski Lindqvist
Moreau Novak Okafor Petrov Quist Romano Schulz Tanaka Ueda Varga Weber Xavier Yilmaz Zeller
Abbott Berger Costa Delgado Engel Falk Grieg Holm Ilic Janssen Keller Lund Marsh Nemeth Olsen
Pereira Rasmussen Santos Torres Urban Vidal Wolff Young Zamora Acosta Bauer Carver Dahl Ekberg
Fischer Garrido Hartmann Ibsen Jovanovic Kraus Laine Molnar Nakamura Ortega Pohl Reyes Sato
Thorne Uhlig Vogel Wagner Yates Ziegler Aldana Becker Cruz Duval Esposito Farkas Gruber Horvat
Iversen Jaeger Kuhn Lorenz Mendes Nielsen Oakley Pavlov Rossi Strand Takacs Unger Voss Walsh
Amato Bjork Conti Doyle Elling Ferreira Gomez Hale Ingram Jovic Kaplan Leone Marin Nolan Ostrom
Pace Quinlan Rivera Sorensen Tully Valdez Winter Yoder Zubair Alves Brenner Cole Drake Evers
""".split()

CITIES = """
Osaka Lisbon Quito Tallinn Mombasa Porto Leipzig Cusco Bergen Tangier Hobart Gdansk Nagoya
Valencia Tromso Jaipur Durban Riga Malmo Seville Krakow Utrecht Bilbao Cork Dresden Genoa
Harbin Izmir Kyoto Lyon Medan Nantes Odessa Perth Recife Salta Tartu Uppsala Verona Windhoek
Yerevan Zagreb Aarhus Basel Cadiz Dakar Esbjerg Fresno Graz Hanoi Iquitos Juneau Kazan Lagos
Mendoza Nairobi Oaxaca Padua Quebec Rouen Sapporo Tucson Ulm Vilnius Wroclaw Xalapa Yokohama
Zurich Accra Bremen Cordoba Davao Essen Fukuoka Geneva Haifa Ibadan Jena Kochi Linz Manaus
Naples Oulu Pisa Rabat Split Turin Udine Varna Tampere Arusha Brno Colombo Dublin Erfurt Faro
Girona Halle Innsbruck Kiel Lublin Murcia Nice Oviedo Parma Rostock Sochi Toledo Vigo Warsaw
""".split()

SYLLABLES_A = "vel kor bri stra mon zen tal quor dra fen lum sor gal pra nex tor vin cal mer jun"
SYLLABLES_B = "tra bix dor lia ven qua ris tho mar zen lox pen dal rak sin vor tek nal fim gor"
SYLLABLES_C = "ne ix on a is um ex or ia en ar o os ine eon ica ant ell yx ade"

DEPARTMENTS = """
archive billing catering design finance forestry geology harbor housing imaging logistics
marine mining nursing optics payroll printing quarantine radio records research robotics
security shipping signals surveying textiles translation transport treasury weather welding
""".split()

OBJECTS = """
crate barrel trunk cabinet parcel chest case drum bundle canister box carton sack kit
""".split()

# MARK: - filler vocabulary (shared by every split)

FILLER_NOUNS = """
lantern ladder kettle bicycle notebook umbrella compass blanket basket violin telescope
wheelbarrow teapot mirror clock map anchor rope bucket candle shovel typewriter radio
camera quilt bench kite helmet saddle hammer chisel loom barometer microscope globe
scarf satchel envelope ledger sextant thermos wagon harp drum flag banner lamp easel
""".split()

FILLER_PLACES = """
market harbor bakery library orchard station garden courtyard workshop chapel meadow
bridge pier greenhouse lighthouse warehouse plaza tavern museum quarry vineyard mill
barn canal terrace kitchen cellar gallery observatory boathouse schoolyard square
""".split()

ADJECTIVES = """
old quiet bright narrow heavy small crooked painted rusty polished faded sturdy tall
wooden yellow dusty gentle broad silver green cold warm hollow tidy worn curious
""".split()

VERBS_PAST = """
carried repaired painted cleaned moved inspected borrowed returned measured sketched
polished wrapped counted stacked lifted mended sorted labeled photographed described
""".split()

TIMES = """
dawn noon dusk midnight sunrise sunset lunch breakfast supper evening morning afternoon
""".split()

WEATHER = """
rain fog snow wind sunshine drizzle frost hail thunder mist
""".split()

SEASONS = "spring summer autumn winter".split()


def split_pool(items, split, seed=7):
    """Deterministic disjoint 70/15/15 partition of a word list."""
    items = sorted(set(items))
    rng = random.Random(seed)
    rng.shuffle(items)
    n = len(items)
    a, b = int(n * 0.70), int(n * 0.85)
    return {"train": items[:a], "dev": items[a:b], "test": items[b:]}[split]


def company_names(split):
    """Made-up company names; the split is decided by the first syllable."""
    a = SYLLABLES_A.split()
    b = SYLLABLES_B.split()
    c = SYLLABLES_C.split()
    firsts = split_pool(a, split, seed=11)
    names = []
    for x in firsts:
        for y in b:
            for z in c:
                names.append((x + y + z).capitalize())
    return sorted(set(names))


CODE_LETTERS = {"train": "ABCDEFGHJKLMNP", "dev": "QRS", "test": "TUVWXYZ"}
