"""Access tokens from the council's identity provider (OpenID Connect): verified with PyJWT
against the issuer's published keys, down to the subject that names a staff member.

The keys come from the issuer's discovery document (or OIDC_JWKS_URL), fetched on the
first token and kept for OIDC_JWKS_CACHE_SECONDS; a token naming a key we do not hold
refetches them once, at most every OIDC_JWKS_COOLDOWN_SECONDS (PyJWKClient does both).
Nothing is fetched at start-up, so the API starts while the provider is down.

Only the subject is taken from a token: the staff directory, not the token's groups or
roles, says who may do what (a council's app roles could be checked against it later).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient

from config import Settings

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0
# After the discovery document could not be read, ask again no sooner than this: while the
# provider is down, requests are answered 503 at once rather than each waiting on it.
DISCOVERY_RETRY_SECONDS = 5.0
# Compact JWS: three base64url parts (the third is empty for an unsigned token). So an API
# token must never hold two dots: theirs are a single run of URL-safe characters.
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_SAFE_SUBJECT = re.compile(r"^[A-Za-z0-9._@:-]{1,128}$")


def looks_like_jwt(token: str) -> bool:
    return _JWT_SHAPE.fullmatch(token) is not None


class SignInRefused(Exception):
    """A token that does not sign anyone in; the message is a sentence for the caller."""


class ProviderUnavailable(Exception):
    """The identity provider's keys cannot be had right now: try again, not refused."""


@dataclass(frozen=True)
class Verified:
    subject: str

    @property
    def shown(self) -> str:
        """The subject as it may appear in an answer: only if it looks like an identifier."""
        return self.subject if _SAFE_SUBJECT.fullmatch(self.subject) else "an unknown identity"


class OidcVerifier:
    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.algorithms = list(settings.oidc_algorithms)
        self.subject_claim = settings.oidc_subject_claim
        self.leeway = settings.oidc_leeway_seconds
        self._jwks_url = settings.oidc_jwks_url
        self._cache_seconds = settings.oidc_jwks_cache_seconds
        self._cooldown_seconds = settings.oidc_jwks_cooldown_seconds
        self._client: PyJWKClient | None = None
        self._discovery_failed_at: float | None = None
        self._lock = threading.Lock()

    def verify(self, token: str) -> Verified:
        claims = self.claims(token)
        subject = claims[self.subject_claim]
        if not isinstance(subject, str) or not subject:
            raise SignInRefused(f"That sign-in token's '{self.subject_claim}' claim is not "
                                "an identifier")
        return Verified(subject)

    def claims(self, token: str, *, audience: str | None = None,
               also_required: tuple[str, ...] = ()) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience (the API's unless given:
        the pages' ID tokens are for their own client) and lifetime are checked."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise SignInRefused("That sign-in token is malformed") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg in (None, "", "none"):
            raise SignInRefused("That sign-in token is not signed")
        if alg not in self.algorithms:
            # Checked before any key is fetched: HS256 "signed" with a public key, or any
            # other algorithm we never accept, costs the provider nothing.
            raise SignInRefused("That sign-in token is signed with an algorithm this service "
                                f"does not accept (it accepts {', '.join(self.algorithms)})")
        if not isinstance(kid, str) or not kid:
            raise SignInRefused("That sign-in token does not name its signing key (kid)")
        key = self._signing_key(kid)
        required = ["exp", "iss", "aud", self.subject_claim, *also_required]
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=self.algorithms, audience=audience or self.audience,
                issuer=self.issuer, leeway=self.leeway, options={"require": required})
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused("That sign-in token has expired; sign in again") from exc
        except jwt.ImmatureSignatureError as exc:
            raise SignInRefused("That sign-in token is not valid yet (its nbf or iat is in "
                                "the future); check the clocks") from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInRefused("That sign-in token was issued for another service, not "
                                "this one (audience)") from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused("That sign-in token was issued by another identity provider "
                                "(issuer)") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise SignInRefused(f"That sign-in token has no '{exc.claim}' claim") from exc
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError,
                jwt.InvalidKeyError) as exc:
            raise SignInRefused("That sign-in token's signature does not verify against "
                                "the identity provider's keys") from exc
        except jwt.PyJWTError as exc:  # any other way a token can be wrong: still a refusal
            raise SignInRefused("That sign-in token is not valid") from exc
        return claims

    def _signing_key(self, kid: str) -> jwt.PyJWK:
        try:
            return self._keys().get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("the identity provider's keys could not be fetched: %s", exc)
            raise ProviderUnavailable from exc
        except jwt.PyJWKClientError as exc:
            raise SignInRefused("That sign-in token names a signing key (kid) the identity "
                                "provider does not publish") from exc
        except jwt.PyJWTError as exc:  # PyJWKSetError: nothing usable in the key set
            log.warning("the identity provider publishes no usable keys: %s", exc)
            raise ProviderUnavailable from exc

    def _keys(self) -> PyJWKClient:
        with self._lock:
            if self._client is None:
                url = self._jwks_url or self._discover_jwks_url()
                self._client = PyJWKClient(
                    url, cache_jwk_set=True, lifespan=self._cache_seconds,
                    timeout=FETCH_TIMEOUT_SECONDS, cooldown_duration=self._cooldown_seconds)
            return self._client

    def _discover_jwks_url(self) -> str:
        failed_at = self._discovery_failed_at
        if failed_at is not None and time.monotonic() - failed_at < DISCOVERY_RETRY_SECONDS:
            raise ProviderUnavailable
        where = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(where, timeout=FETCH_TIMEOUT_SECONDS) as response:
                document = json.load(response)
        except (OSError, ValueError) as exc:
            self._discovery_failed_at = time.monotonic()
            log.warning("the identity provider's discovery document could not be read: %s",
                        exc)
            raise ProviderUnavailable from exc
        # OpenID Connect Discovery: the document must name the issuer it was fetched for,
        # or its keys are somebody else's.
        if not isinstance(document, dict) or document.get("issuer") != self.issuer or not \
                isinstance(document.get("jwks_uri"), str):
            self._discovery_failed_at = time.monotonic()
            log.warning("the discovery document at %s does not describe issuer %s",
                        where, self.issuer)
            raise ProviderUnavailable
        jwks_uri: str = document["jwks_uri"]
        return jwks_uri
