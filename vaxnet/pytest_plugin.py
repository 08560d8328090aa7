"""Pytest plugin loaded before Django starts: test runs use the TEST pack and a throwaway secret."""

import os

os.environ.setdefault("VAXNET_COUNTRY", "TEST")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("VAXNET_STATIC_MANIFEST", "0")
os.environ.setdefault("VAXNET_ID_HASH_KEY", "test-only-id-hash-key")
os.environ.setdefault("VAXNET_PUBLIC_URL", "https://vaccinate.test")
# Tests sign administrators in without a second factor unless a test asks for it.
os.environ.setdefault("VAXNET_STAFF_TOTP_REQUIRED", "0")
