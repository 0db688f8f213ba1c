"""Signing in: passwords, session cookies, throttling (in memory and shared through Redis)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.conftest import REDIS_URL, Visitor, csrf_from, unavailable
from web.auth import LoginThrottle


def _attempt(client, username: str, password: str):
    client.cookies.set("skillcert_locale", "en")
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


class TestSignIn:
    def test_right_password_opens_the_role_home(self, client, demo):
        response = _attempt(client, "candidate", "candidate-demo")
        assert response.status_code == 303 and response.headers["location"] == "/candidate"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie

    def test_wrong_password_is_refused_without_saying_which_part(self, client, demo):
        for username in ("candidate", "nobody"):
            response = _attempt(client, username, "wrong-password")
            assert response.status_code == 401 and "Wrong user name or password" in response.text

    def test_open_redirect_after_login_is_ignored(self, client, demo):
        token = csrf_from(client.get("/login").text)
        response = client.post("/login", data={"username": "admin", "password": "admin-demo", "csrf_token": token,
                                               "next": "//evil.example/phish"})
        assert response.headers["location"] == "/admin"

    def test_sign_out_ends_the_session(self, client, demo):
        visitor = Visitor(client).login("examiner")
        visitor.post("/logout")
        assert client.get("/candidate").status_code == 303

    def test_tampered_session_cookie_is_ignored(self, client, demo):
        Visitor(client).login("candidate")
        value = client.cookies.get("skillcert_session")
        client.cookies.clear()
        client.cookies.set("skillcert_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
        assert client.cookies.get("skillcert_session") != value
        assert client.get("/candidate").status_code == 303  # back to the login page


class TestThrottle:
    def test_sixth_failure_in_a_minute_is_throttled_even_with_the_right_password(self, client, demo):
        for _ in range(5):
            assert _attempt(client, "supervisor", "bad-guess").status_code == 401
        blocked = _attempt(client, "supervisor", "supervisor-demo")
        assert blocked.status_code == 429 and "Too many failed sign-in attempts" in blocked.text


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        unavailable(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL


class TestThrottleAcrossWorkers:
    def test_failures_counted_in_one_worker_block_the_other(self, redis_url):
        """Two throttles on one Redis behave as one: a second worker cannot be used to guess on."""
        user = f"victim-{uuid.uuid4().hex[:8]}"
        worker_a, worker_b = LoginThrottle("3/minute", redis_url), LoginThrottle("3/minute", redis_url)
        for _ in range(3):
            assert worker_b.allowed(user, "10.0.0.1")
            worker_a.failed(user, "10.0.0.1")
        assert not worker_b.allowed(user, "10.0.0.1")
        assert not worker_b.allowed(user, "10.0.0.2")  # per user name, whatever the address
        assert worker_b.allowed(f"other-{user}", "10.0.0.3")

    def test_app_with_redis_throttles_through_redis(self, settings, db_engine, clock, demo, redis_url):
        from web.app import create_app

        settings.redis_url = redis_url
        settings.login_rate_limit = "2/minute"
        username = "examiner"
        apps = [create_app(settings, db=db_engine, clock=clock) for _ in range(2)]
        for app in apps:
            app.state.login_throttle.reset()
        with (TestClient(apps[0], follow_redirects=False) as first,
              TestClient(apps[1], follow_redirects=False) as second):
            assert _attempt(first, username, "bad-1").status_code == 401
            assert _attempt(first, username, "bad-2").status_code == 401
            assert _attempt(second, username, "examiner-demo").status_code == 429
        apps[0].state.login_throttle.reset()
