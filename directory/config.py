"""Default settings. Overridden, in this order, by instance/config.py, the
environment (DATABASE_URL, SECRET_KEY, and any FLASK_* variable) and, in tests,
the mapping handed to create_app()."""

# Languages the directory speaks, in the order the switcher shows them; the
# one place that names them. Each gets its /<code>/ pages, a place in the
# switcher (in its own name, from Babel), a taxonomy label field in the admin's
# term form and the starter labels taxonomy.toml has for it. Adding one is a
# catalogue (translations/<code>/LC_MESSAGES/messages.po; without one the
# pages show the English messages) plus its code here.
# Latvian first: it is the default and the fallback.
LANGUAGES = ["lv", "lt", "en", "ru"]
BABEL_DEFAULT_LOCALE = "lv"
BABEL_DEFAULT_TIMEZONE = "Europe/Riga"
# Relative paths resolve against the package folder (directory/).
BABEL_TRANSLATION_DIRECTORIES = "../translations"

SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

# The search index (directory/live_index.py): "background" answers the search
# that sees a write from the index it has and applies the change in a
# thread; "inline" applies it first (the tests, where a write and the next
# search come one after the other). A process keeps reading the counter every
# SEARCH_INDEX_POLL_SECONDS while searches come, so that it is current within
# that time even when no search has seen the write (0: only on a search).
SEARCH_INDEX_REFRESH = "background"
SEARCH_INDEX_POLL_SECONDS = 0.5

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Set both to True behind HTTPS (FLASK_SESSION_COOKIE_SECURE=true).
SESSION_COOKIE_SECURE = False
REMEMBER_COOKIE_SECURE = False
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
# A sign-in ends on the server after SIGN_IN_LIFETIME, or with "keep me
# signed in" after REMEMBER_COOKIE_DURATION (never more than 14 days).
SIGN_IN_LIFETIME = 60 * 60 * 12  # seconds
REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 14  # seconds

# Reverse proxies in front of the app that add X-Forwarded-For/-Proto (0: none,
# the client connects directly). The client's address (rate limits, logs)
# comes from those headers only when this says how many proxies to trust.
TRUSTED_PROXY_HOPS = 0
# Host names the site answers to; any other Host header gets 400. None: the
# host of PUBLIC_BASE_URL, plus localhost and 127.0.0.1.
TRUSTED_HOSTS = None

# Rate limits (Flask-Limiter). Counters in RATELIMIT_STORAGE_URI: memory://
# for one process; redis://host:6379 when several processes or machines serve.
RATELIMIT_STORAGE_URI = "memory://"
# Said explicitly: the limiter is one object shared by every app built in a
# process, and it takes its last value as the default for the next app.
RATELIMIT_ENABLED = True
RATELIMIT_HEADERS_ENABLED = True
# A moving window: "5 per minute" means at most 5 in any 60 seconds, not 10
# across the turn of a clock minute.
RATELIMIT_STRATEGY = "moving-window"
LOGIN_RATE_LIMIT = "10 per minute;50 per hour"  # per client address
LOGIN_ACCOUNT_RATE_LIMIT = "5 per minute;20 per hour"  # per e-mail tried, from any address
SIGNUP_RATE_LIMIT = "5 per minute;20 per hour"
RESET_ACCOUNT_RATE_LIMIT = "3 per hour"  # reset links sent for one e-mail
REPORT_RATE_LIMIT = "5 per minute;20 per hour"
CLAIM_RATE_LIMIT = "5 per minute;20 per hour"  # requests to keep a listing, per client address
CLAIM_ORGANIZATION_RATE_LIMIT = "10 per day"  # requests filed for one organization, from any address
# Sending a shortlist or a service by e-mail or SMS (no account needed):
# messages sent from one client address, and to one e-mail address or phone
# number from any address. Only messages actually sent count.
SHARE_RATE_LIMIT = "5 per hour"
SHARE_RECIPIENT_RATE_LIMIT = "5 per hour"

# E-mail: always written to the outbox table and the log; sent by SMTP with
# `flask --app directory send-mail` when MAIL_SERVER is set.
MAIL_SERVER = None
MAIL_PORT = 587
MAIL_USE_TLS = True
MAIL_USERNAME = None
MAIL_PASSWORD = None
MAIL_SENDER = "noreply@localhost"
# A message whose sending failed this many times is no longer tried; the
# outbox keeps it with its error.
MAIL_MAX_ATTEMPTS = 5
# Text messages (directory/sms.py): None offers no SMS anywhere; "log" writes
# each message to the log instead of sending it (development); or
# "package.module:factory", a function of the app that returns a gateway
# with send(to, text).
SMS_GATEWAY = None
# The site's address, for links in e-mails that commands (`flask purge`) send.
PUBLIC_BASE_URL = "http://127.0.0.1:5000"

# Listings not confirmed for this many days are flagged "may be out of date".
STALE_AFTER_DAYS = 365

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

# Referrals (GDPR): `flask --app directory purge` wipes a referral's client
# data this many days after the referral closes; the counts stay. A referral
# the centre has not answered in REFERRAL_EXPIRE_DAYS is closed as expired.
REFERRAL_RETENTION_DAYS = 180
REFERRAL_EXPIRE_DAYS = 90
# `flask --app directory remind` reminds a centre once of a referral that has
# waited this many days for its answer.
REFERRAL_REMIND_DAYS = 7
# A resident's shortlist lives in the session cookie: keep it small.
SHORTLIST_LIMIT = 30

# ---------------------------------------------------------- security headers
# directory/security_headers.py puts a Content-Security-Policy (this site's own
# scripts and styles only; images also from the host of MAP_TILE_URL),
# X-Content-Type-Options, Referrer-Policy and frame-ancestors 'none' on every
# response, and Cache-Control: no-store on the pages with client data.
# Strict-Transport-Security max-age in seconds; 0 sends none. Behind HTTPS set
# 31536000 (a year): browsers then refuse plain HTTP to this host for that long.
HSTS_SECONDS = 0

# Bounded input. A request body over MAX_CONTENT_LENGTH is refused (413)
# before it is read; the admin import upload has its own, larger limit
# (directory/hsds/report.py, MAX_UPLOAD_BYTES).
MAX_CONTENT_LENGTH = 1024 * 1024

# SQLite as a server database (directory/database.py). Every SQLite connection
# runs in WAL mode with foreign keys and secure_delete on, and waits this long
# for another connection's write before answering "database is locked"
# (pysqlite's own default is 5 s). PostgreSQL ignores it.
SQLITE_BUSY_TIMEOUT_SECONDS = 15

# Who publishes the directory: the `publisher` of GET /api/ (with
# PUBLIC_BASE_URL as its address) and the contact of the API's OpenAPI
# document. PUBLISHER_EMAIL None: no address is given.
PUBLISHER_NAME = "Social services directory of the Latvia–Lithuania border region"
PUBLISHER_EMAIL = None
