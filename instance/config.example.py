# Copy to instance/config.py. Loaded after the defaults in directory/config.py
# and before the environment (DATABASE_URL, SECRET_KEY, FLASK_*), which wins.

# SECRET_KEY = "a long random string; set it in production"
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://directory:secret@127.0.0.1:5432/directory"
