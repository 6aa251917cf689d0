"""Fill a channel URL's ``${VAR}`` placeholders from the environment, each value
percent-encoded for the part of the URL it lands in (case20).

A secret is any bytes its provider issued: ``p@ss:w0rd``, ``tr4de#talks``, a base64
token ``Ab+c/dEf==``. Pasted as it is into ``mailto://user:${P}@host`` or
``https://host/hook?token=${T}``, its ``@``, ``:``, ``#``, ``/``, ``?``, ``&`` or ``+``
would be read as URL syntax: the SMTP client connects to a host named after half the
password, the webhook receives ``Ab c/dEf==`` or ``x`` (apprise#161, #400, #1433;
changedetection.io#124). Here the template is split into its parts first (the
placeholders hold no URL syntax), then each value is encoded for its part with
``urllib.parse.quote`` and the part's safe set (``SAFE``), so the receiver decodes
exactly the value of the variable:

============  ================================================  ==========================
part          where                                             left as it is
============  ================================================  ==========================
user          ``scheme://${U}:...@``                            unreserved only
password      ``scheme://user:${P}@``                           unreserved only
host          ``scheme://${HOST}/``: also apprise's token       ``: / [ ]`` and sub-delims
              hosts (``tgram://${BOT}``, ``slack://${TOKENS}``)
path segment  ``/hook/${T}/`` (``/`` in a value is ``%2F``)     unreserved only
query         a name or a value (``?token=${T}``, ``+X-Key=``)  unreserved only
fragment      ``#${F}``                                         unreserved only
============  ================================================  ==========================

A template that is one placeholder and nothing else (``webhook: "${HOOK_URL}"``) is a
whole URL from the environment and is used as written: the operator has encoded it.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE = re.compile(r"\s*(?:\$\{[A-Za-z_][A-Za-z0-9_]*\})+\s*")

# characters of a value left unencoded, per URL part (quote() always keeps A-Z a-z 0-9 _.-~)
SAFE = {
    "user": "",
    "password": "",
    # a host variable may carry a port, or an apprise token list (slack://A/B/C)
    "host": ":/[]!$&'()*+,;=",
    "path": "",
    "query": "",
    "fragment": "",
}


class MissingVariable(LookupError):
    """A ``${VAR}`` of the template is not set (or empty) in the environment."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set")
        self.name = name


def fill(text: str, env: Mapping[str, str], encode: Callable[[str], str] = str,
         found: list[str] | None = None) -> str:
    """``text`` with each ``${VAR}`` replaced by ``encode(env[VAR])``; the raw values are
    appended to ``found``. MissingVariable when one is unset or empty."""

    def one(match: re.Match[str]) -> str:
        value = env.get(match.group(1))
        if not value:
            raise MissingVariable(match.group(1))
        if found is not None:
            found.append(value)
        return encode(value)

    return _VAR.sub(one, text)


def _part(text: str, env: Mapping[str, str], part: str, found: list[str] | None,
          times: int = 1) -> str:
    safe = SAFE[part]

    def encode(value: str) -> str:
        for _ in range(times):
            value = urllib.parse.quote(value, safe=safe)
        return value

    return fill(text, env, encode, found)


def resolve_url(template: str, env: Mapping[str, str], found: list[str] | None = None,
                decodes: Callable[[str], int] | None = None) -> str:
    """The channel URL ``template`` with its placeholders filled from ``env``, each value
    encoded for its part (see the module docstring); raw values go to ``found``.
    ``decodes(name)``: how many times the receiver percent-decodes the value of the query
    parameter ``name`` (default once; apprise's json/form/xml decode their ``+header``,
    ``-param`` and ``:field`` values twice), so the value is encoded that many times."""
    if _WHOLE.fullmatch(template):  # the whole URL from the environment, as written
        return fill(template.strip(), env, found=found)
    scheme, sep, rest = template.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        scheme, sep, rest = "", "", template
    out = scheme + sep
    if sep:
        authority = re.match(r"[^/?#]*", rest).group()  # type: ignore[union-attr]
        rest = rest[len(authority):]
        userinfo, at, host = authority.rpartition("@")
        if at:
            user, colon, password = userinfo.partition(":")
            out += _part(user, env, "user", found)
            if colon:
                out += ":" + _part(password, env, "password", found)
            out += "@"
        out += _part(host, env, "host", found)
    before, hashed, fragment = rest.partition("#")
    path, asked, query = before.partition("?")
    out += "/".join(_part(segment, env, "path", found) for segment in path.split("/"))
    if asked:
        pairs = []
        for pair in query.split("&"):
            name, equals, value = pair.partition("=")
            times = decodes(name) if decodes else 1
            pairs.append(_part(name, env, "query", found, times) + equals
                         + _part(value, env, "query", found, times))
        out += "?" + "&".join(pairs)
    if hashed:
        out += "#" + _part(fragment, env, "fragment", found)
    return out
