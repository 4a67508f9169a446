"""Email addresses: the one form the subscribe form accepts, and one key per inbox.

The form takes only the plain `local@domain` shape that sign-up forms take (the WHATWG "valid
email address", without the dot runs RFC 5322 forbids): no quoted local parts, comments or
IP-literal domains. Internationalised domains are stored in their IDNA (punycode) form, the one
form every mail system agrees on.

`canonical_email` is the key of an inbox: the same for every spelling that reaches it (case,
`+tag`, a quoted local part as an old row or a webhook may carry it, Unicode or punycode
domain). Limits, suppression and "one email per inbox per day" are counted on it.
"""

import functools
import re

import idna
from django.core.exceptions import ValidationError

MAX_LENGTH = 254  # RFC 5321's path limit, less the angle brackets
LOCAL_MAX_LENGTH = 64
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# At least two labels, and a top-level label of two or more characters that is not all digits.
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?=[A-Za-z0-9-]*[A-Za-z])(?=.{{2}}){_LABEL}")
# A domain literal ("[1.2.3.4]", "[IPv6:...]") or a bare IPv4 address.
_IP_DOMAIN = re.compile(r"\[.*\]|[0-9.]+")


class InvalidAddress(ValueError):
    """Not an address the subscribe form accepts; the text says why, for the visitor."""


@functools.lru_cache(maxsize=4096)  # the daily run keys 100,000 addresses over a few domains
def ascii_domain(domain: str) -> str:
    """The domain lower-cased in its IDNA (punycode) form; raises InvalidAddress."""
    domain = domain.strip().rstrip(".")
    try:
        encoded = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise InvalidAddress("That address's domain is not a valid domain name.") from error
    return encoded.lower()


def plain_address(value: str) -> str:
    """The address as we store and send it: trimmed, the domain lower-cased and in ASCII.

    Raises InvalidAddress for anything but the plain `local@domain` form.
    """
    value = (value or "").strip()
    local, sep, domain = value.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidAddress("Enter an email address like name@example.com.")
    if not _LOCAL_PART.fullmatch(local) or len(local) > LOCAL_MAX_LENGTH:
        raise InvalidAddress(
            "Use a plain address like name@example.com: letters, digits and . _ + - before "
            "the @, no quotes, spaces or brackets."
        )
    if _IP_DOMAIN.fullmatch(domain):
        raise InvalidAddress("Use a domain name after the @, not an IP address.")
    domain = ascii_domain(domain)
    if not _DOMAIN.fullmatch(domain):
        raise InvalidAddress("That address's domain is not a valid domain name.")
    address = f"{local}@{domain}"
    if len(address) > MAX_LENGTH:
        raise InvalidAddress(f"An email address has at most {MAX_LENGTH} characters.")
    return address


def canonical_email(value: str) -> str:
    """The inbox key of any address string: case-folded, `+tag` dropped, ASCII domain.

    The tag is what follows a `+` after the first character (RFC 5233 sub-addressing); a
    leading `+` is part of the mailbox's name. Dots are left alone: only some providers ignore
    them. Total: it never raises, so an odd address from an old row or a webhook still gets a
    key (the same key its plain spelling would get).
    """
    value = (value or "").strip()
    local, sep, domain = value.rpartition("@")
    if not sep:
        return value.casefold()
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        local = re.sub(r"\\(.)", r"\1", local[1:-1])  # RFC 5322 quoted-string
    tag_start = local.find("+", 1)
    if tag_start > 0:
        local = local[:tag_start]
    try:
        domain = ascii_domain(domain)
    except InvalidAddress:
        domain = domain.casefold()
    return f"{local.casefold()}@{domain}"


def validate_plain_address(value: str) -> None:
    """plain_address as a Django validator, for the model field (the admin's form)."""
    try:
        plain_address(value)
    except InvalidAddress as error:
        raise ValidationError(str(error), code="invalid") from error
