"""Default settings. Overridden, in this order, by instance/config.py, the
environment (DATABASE_URL, SECRET_KEY, and any FLASK_* variable) and, in tests,
the mapping handed to create_app()."""

# Languages the directory speaks, in the order the switcher shows them.
# Latvian first: it is the default and the fallback.
LANGUAGES = ["lv", "lt", "en", "ru"]
BABEL_DEFAULT_LOCALE = "lv"
BABEL_DEFAULT_TIMEZONE = "Europe/Riga"
# Relative paths resolve against the package folder (directory/).
BABEL_TRANSLATION_DIRECTORIES = "../translations"

SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Seed an empty database with the starter data when `flask seed --if-empty` runs.
STARTER_DATA_DIR = None  # None: the starter_data folder shipped in the package

# Where the "leave this site quickly" button goes: a neutral page that says
# nothing about why the visitor was here.
QUICK_EXIT_URL = "https://www.google.com/"

# Responses: brotli or gzip, whichever the browser takes.
COMPRESS_ALGORITHM = ["br", "gzip"]
# `flask digest compile` writes fingerprinted, pre-compressed static files.
FLASK_STATIC_DIGEST_COMPRESSION = ["gzip", "brotli"]
FLASK_STATIC_DIGEST_BLACKLIST_FILTER = [".md", ".LICENSE", ".txt"]
# Cache lifetime of static files without a fingerprint in their name.
STATIC_MAX_AGE = 3600

# Geocoding (directory/geocoding.py): "offline" needs no network; "nominatim"
# (OpenStreetMap) finds street addresses when the server is online; any other
# geopy geocoder by name. GEOCODER_OPTIONS go to the geocoder's constructor
# (e.g. {"domain": "nominatim.example.org"} for a self-hosted Nominatim).
GEOCODER = "offline"
GEOCODER_OPTIONS = {}
GEOCODER_USER_AGENT = "border-social-directory/0.1 (social services directory of the LV-LT border region)"
GEOCODER_TIMEOUT = 5
GEOCODER_MIN_DELAY_SECONDS = 1.0
GEOCODE_ON_SAVE = True

# Map of search results: tiles and their attribution (OpenStreetMap's by default).
MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
MAP_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
