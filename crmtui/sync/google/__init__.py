"""The Google adapters: OAuth accounts, and the People (and later Calendar) clients built on
google-api-python-client. The only package that imports the Google client libraries."""
