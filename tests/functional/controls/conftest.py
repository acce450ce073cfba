import pytest


@pytest.fixture
def as_user():
    """as_user(user) → a client logged in as that user."""
    from django.test import Client

    def login(user):
        c = Client()
        c.force_login(user)
        return c

    return login
