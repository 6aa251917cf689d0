"""Field case 20 and its kind: a channel secret with characters that mean something in a
URL (``@ : # / ? & + = %``, spaces, non-ASCII), filled from the environment into the
channel URL, reaches the receiver byte for byte, through every channel kind we support:
the signed webhook (token in the path, the query, the HMAC secret), apprise ``json://``
and ``form://`` (userinfo, path, query, header) and ``mailto://`` (SMTP AUTH, userinfo and
``?user=&pass=``) against real local receivers (http.server, aiosmtpd). A receiver that
refuses the message is a failed delivery, never a sent one."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts import DeliveryError, load_alert_config
from monitor.alerts.rules import Channel
from monitor.alerts.send import resolve_channel_url, send, verify_signature
from monitor.alerts.urls import resolve_url
from monitor.cli import main

from .channels import _free_port

CASE = Path(__file__).parent / "data" / "fieldcases" / "case20_channel-secret-url-chars"
ASCII = "".join(chr(c) for c in range(0x21, 0x7F))  # every printable ASCII but space
PRINTABLE = ASCII[:47] + " " + ASCII[47:]  # ... and the space, inside (apprise strips ends)
SECRETS = {
    "printable": PRINTABLE,
    "smtp-at-colon": "p@ss:w0rd",
    "hash": "tr4de#talks",
    "base64": "Ab+c/dEf==",
    "query-syntax": "x&y=z#1",
    "looks-encoded": "%41%2F%zz+%20",  # must not be decoded a second time
    "semicolon-comma": "a;b,c d",  # apprise splits lists on ; and ,
    "non-ascii": "mật-khẩu/中文+é@#?",
}
HEADER_SAFE = {k: v for k, v in SECRETS.items() if v.isascii()}  # HTTP headers, SMTP AUTH


def _case_rows() -> list[tuple[str, str]]:
    rows = []
    for line in (CASE / "secrets.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, secret, _ = line.split("\t")
            rows.append((kind, secret))
    return rows


# -- local receivers -------------------------------------------------------------------------
class Receiver:
    """An HTTP server on 127.0.0.1 recording each request's decoded path segments, query,
    headers and body; it answers 401 when ``token`` is set and the request's ``?token=``
    differs (a real receiver that checks its token)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.token: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
                receiver.requests.append({
                    "segments": [urllib.parse.unquote(s) for s in parts.path.split("/")],
                    "query": {k: v[0] for k, v in query.items()},
                    "headers": dict(self.headers), "body": raw})
                ok = receiver.token is None or query.get("token") == [receiver.token]
                self.send_response(204 if ok else 401)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802 - a page that is glad to see anyone
                receiver.requests.append({"get": self.path})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def last(self) -> dict[str, Any]:
        assert self.requests, "the receiver got nothing"
        return self.requests[-1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """aiosmtpd on 127.0.0.1 with AUTH: records each login and accepts only ``password``."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.logins: list[tuple[str, str]] = []
        self.messages = 0
        self.password: str | None = None
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     authenticator=self.authenticate, auth_require_tls=False)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages += 1
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=password == self.password, handled=False)


@pytest.fixture
def http() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.controller.stop()


DOC = {"schema": "newswatch.alert/1", "id": "k", "kind": "test", "rule": None,
       "article": {"id": None, "url": None, "title": "newswatch test message",
                   "source": None, "language": None, "published": None, "lead": "A test.",
                   "version": None, "relevance": None, "reasons": []},
       "story": {"id": None, "title": None, "articles": 0, "languages": []},
       "diff": None, "sent_at": "2025-01-01T00:00:00+00:00"}


def _send(channel: Channel, env: dict[str, str]) -> None:
    send(channel, [DOC], "key-1", env)


# -- case20's rows, through `newswatch alerts test` ---------------------------------------------
@pytest.mark.parametrize("kind,secret", _case_rows(), ids=[s for _, s in _case_rows()])
def test_case20_rows_arrive_exactly(kind: str, secret: str, tmp_path: Path, http: Receiver,
                                    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    url = {
        "smtp": ('url: "mailto://newswatch:${NW_CASE_SECRET}@127.0.0.1:${NW_SMTP_PORT}'
                 '?mode=insecure&from=alerts@newswatch.test&to=desk@newswatch.test"'),
        "token": ('webhook: "http://127.0.0.1:${NW_HOOK_PORT}/hooks/newswatch'
                  '?token=${NW_CASE_SECRET}"'),
    }[kind]
    config = tmp_path / "alerts.yaml"
    config.write_text(f"channels:\n  desk:\n    {url}\nrules:\n  - name: r\n"
                      "    channels: [desk]\n", encoding="utf-8")
    monkeypatch.setenv("NW_CASE_SECRET", secret)
    monkeypatch.setenv("NW_SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("NW_HOOK_PORT", str(http.port))
    mailbox.password = http.token = secret
    result = CliRunner().invoke(main, ["alerts", "--alerts-config", str(config), "test", "desk"])
    assert result.exit_code == 0, result.output
    if kind == "smtp":
        assert mailbox.logins == [("newswatch", secret)] and mailbox.messages == 1
    else:
        assert http.last()["query"]["token"] == secret

    # the receiver refuses a wrong secret: exit 1, one line, no "sent"
    monkeypatch.setenv("NW_CASE_SECRET", secret + "x")
    result = CliRunner().invoke(main, ["alerts", "--alerts-config", str(config), "test", "desk"])
    assert result.exit_code == 1 and "sent" not in result.output, result.output
    assert secret not in result.output


# -- every byte, every channel kind ----------------------------------------------------------
@pytest.mark.parametrize("secret", SECRETS.values(), ids=list(SECRETS))
def test_webhook_token_in_path_query_and_signature(secret: str, http: Receiver) -> None:
    http.token = secret
    channel = Channel(name="hook", secret="${S}",
                      webhook="http://127.0.0.1:${PORT}/hooks/${S}/in?token=${S}&x=1#${S}")
    _send(channel, {"S": secret, "PORT": str(http.port)})
    got = http.last()
    assert got["segments"] == ["", "hooks", secret, "in"]
    assert got["query"] == {"token": secret, "x": "1"}
    assert verify_signature(got["body"], got["headers"], secret)


@pytest.mark.parametrize("secret", SECRETS.values(), ids=list(SECRETS))
def test_apprise_json_and_form_path_and_query(secret: str, http: Receiver) -> None:
    env = {"S": secret, "PORT": str(http.port)}
    _send(Channel(name="json", url="json://127.0.0.1:${PORT}/in/${S}?-token=${S}"), env)
    got = http.last()
    assert got["segments"] == ["", "in", secret] and got["query"]["token"] == secret
    assert json.loads(got["body"])["title"] == "Test: newswatch test message"
    _send(Channel(name="form", url="form://127.0.0.1:${PORT}/in?-token=${S}&-n=1"), env)
    assert http.last()["query"] == {"token": secret, "n": "1"}


@pytest.mark.parametrize("secret", HEADER_SAFE.values(), ids=list(HEADER_SAFE))
def test_apprise_json_userinfo_and_header(secret: str, http: Receiver) -> None:
    env = {"S": secret, "PORT": str(http.port)}
    _send(Channel(name="json", url="json://${S}:${S}@127.0.0.1:${PORT}/in?+X-Token=${S}"), env)
    headers = http.last()["headers"]
    assert headers["X-Token"] == secret
    scheme, _, encoded = headers["Authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(encoded).decode() == f"{secret}:{secret}"


@pytest.mark.parametrize("where", ["userinfo", "query"])
@pytest.mark.parametrize("secret", HEADER_SAFE.values(), ids=list(HEADER_SAFE))
def test_mailto_user_and_password_reach_smtp_auth(secret: str, where: str,
                                                  mailbox: Mailbox) -> None:
    mailbox.password = secret
    tail = "mode=insecure&from=alerts@newswatch.test&to=desk@newswatch.test"
    url = ("mailto://${S}:${S}@127.0.0.1:${PORT}?" + tail if where == "userinfo"
           else "mailto://127.0.0.1:${PORT}?user=${S}&pass=${S}&" + tail)
    _send(Channel(name="mail", url=url), {"S": secret, "PORT": str(mailbox.port)})
    assert mailbox.logins == [(secret, secret)] and mailbox.messages == 1


def test_non_ascii_smtp_password_is_a_clear_failure(mailbox: Mailbox) -> None:
    with pytest.raises(DeliveryError) as failed:
        _send(Channel(name="mail", url="mailto://desk:${S}@127.0.0.1:${PORT}?mode=insecure"
                                       "&from=a@newswatch.test&to=b@newswatch.test"),
              {"S": SECRETS["non-ascii"], "PORT": str(mailbox.port)})
    assert "SMTP password holds non-ASCII" in str(failed.value)
    assert SECRETS["non-ascii"] not in str(failed.value) and mailbox.logins == []


def test_refused_by_the_receiver_is_not_delivered(http: Receiver) -> None:
    http.token = "Ab+c/dEf=="
    for token in ("Ab c/dEf==", "Ab+c"):  # what a raw paste would have sent
        with pytest.raises(DeliveryError, match="HTTP 401"):
            _send(Channel(name="hook", webhook="http://127.0.0.1:${PORT}/h?token=${T}"),
                  {"T": token, "PORT": str(http.port)})


def test_a_whole_url_variable_is_used_as_written(http: Receiver) -> None:
    """``webhook: "${HOOK_URL}"``: the operator's URL, already encoded, not re-encoded."""
    url = f"http://127.0.0.1:{http.port}/h/a%2Fb?token=Ab%2Bc"
    _send(Channel(name="hook", webhook="${HOOK_URL}"), {"HOOK_URL": url})
    assert http.last()["segments"] == ["", "h", "a/b"]
    assert http.last()["query"] == {"token": "Ab+c"}


def test_token_scheme_hosts_keep_their_separators() -> None:
    """apprise's token hosts (``tgram://${BOT}/${CHAT}``, ``slack://${TOKENS}/#desk``) keep
    ``:`` and ``/`` in a host variable; the channel still loads and resolves."""
    env = {"BOT": "123456:AAE-x_y", "CHAT": "-100123", "TOKENS": "T1/B2/c3"}
    assert resolve_url("tgram://${BOT}/${CHAT}", env) == "tgram://123456:AAE-x_y/-100123"
    assert resolve_url("slack://${TOKENS}/#desk", env) == "slack://T1/B2/c3/#desk"
    import apprise

    for url in ("tgram://${BOT}/${CHAT}", "slack://${TOKENS}/#desk"):
        assert apprise.Apprise().add(resolve_url(url, env)), url


# -- property: any value, any part -----------------------------------------------------------
VALUES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_every_value_round_trips_through_urllib_and_apprise(value: str) -> None:
    import apprise.utils.parse as apprise_parse

    env = {"V": value}
    url = resolve_url("https://${V}:${V}@h.example:8443/a/${V}?token=${V}&n=1#${V}", env)
    parts = urllib.parse.urlsplit(url)
    unquote = urllib.parse.unquote
    assert (parts.hostname, parts.port) == ("h.example", 8443)
    assert unquote(parts.username or "") == value == unquote(parts.password or "")
    assert unquote(parts.path.split("/")[2]) == value and unquote(parts.fragment) == value
    assert urllib.parse.parse_qs(parts.query) == {"token": [value], "n": ["1"]}
    parsed = apprise_parse.parse_url(resolve_url("json://${V}:${V}@h.example/?-token=${V}",
                                                 env), verify_host=False)
    assert parsed["host"] == "h.example"
    assert unquote(parsed["user"]) == value == unquote(parsed["password"])
    if value == value.strip():  # apprise strips a query value's ends
        assert parsed["qsd-"]["token"] == value


@pytest.mark.parametrize("channel", [
    'url: "mailto://desk:${P}@smtp.example.org?to=a@example.org"',
    'webhook: "https://hooks.example.org/h/${T}?token=${T}"\n    secret: "${S}"',
])
def test_channels_with_placeholders_in_every_part_load(tmp_path: Path, channel: str) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(f"channels:\n  c:\n    {channel}\nrules:\n  - name: r\n"
                    "    channels: [c]\n", encoding="utf-8")
    assert list(load_alert_config(path).channels) == ["c"]


@settings(max_examples=200, deadline=None)
@given(value=VALUES)
def test_every_value_reaches_apprise_json_objects_intact(value: str) -> None:
    """What apprise's json plugin will send: user, password, a GET parameter (``-``), a
    header (``+``) and ``?user=``/``?pass=`` overrides hold the exact value, although the
    plugin decodes its query values twice."""
    import apprise

    env = {"V": value}
    server = apprise.Apprise.instantiate(resolve_channel_url(
        "json://${V}:${V}@h.example/p?-token=${V}&+X-Key=${V}", env, apprise=True))
    assert (server.user, server.password) == (value, value)
    over = apprise.Apprise.instantiate(resolve_channel_url(
        "json://h.example/p?user=${V}&pass=${V}", env, apprise=True))
    if value == value.strip():  # apprise strips a query value's ends
        assert server.params["token"] == value == server.headers["X-Key"]
        assert (over.user, over.password) == (value, value)


# -- delivered means the receiver took it ----------------------------------------------------
def test_apprise_http_channel_answering_a_redirect_is_not_delivered(http: Receiver) -> None:
    """An apprise json:// or form:// receiver that answers 302: requests would follow it
    with a body-less GET and apprise count the 200 at the end as sent
    (MrZoller/vantage-point#49); it is a failed delivery, and nothing is requested again."""

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{http.port}/final")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for scheme in ("json", "form"):
            with pytest.raises(DeliveryError):
                _send(Channel(name=scheme, url=f"{scheme}://127.0.0.1:${{PORT}}/hook"),
                      {"PORT": str(server.server_address[1])})
    finally:
        server.shutdown()
        server.server_close()
    assert http.requests == []  # the redirect target saw nothing (not even a GET)
