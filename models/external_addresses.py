"""Where organisations outside the council are told, by authority and external party.

Deployment configuration (`external-addresses.yaml`, or the file EXTERNAL_ADDRESSES_FILE
names), read once by the worker and the API. A fixed party (CAFCASS, Adult Services) has one
address; a party chosen at the start (another local authority) has one per organisation,
keyed by the identifier the start request gives. Temporal sees only the names and
identifiers, never an address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from models.protocol_files import ProtocolFileError, field_problem

ADDRESS = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ORGANISATION = r"^[a-z][a-z0-9_-]{0,62}$"  # an identifier: never a person's name or free text

Address = Annotated[str, Field(pattern=ADDRESS)]


class Organisations(RootModel[dict[Annotated[str, Field(pattern=ORGANISATION)], Address]]):
    """A party chosen at the start: organisation identifier -> address."""


class ExternalAddresses(BaseModel):
    model_config = ConfigDict(frozen=True)

    # authority -> external party -> an address, or the chosen organisations' addresses
    authorities: dict[str, dict[str, Address | Organisations]] = {}

    def address(self, authority: str, external: str, organisation: str | None) -> str | None:
        entry = self.authorities.get(authority, {}).get(external)
        if isinstance(entry, Organisations):
            return entry.root.get(organisation) if organisation else None
        return entry if organisation is None else None

    def organisations(self, authority: str, external: str) -> list[str]:
        entry = self.authorities.get(authority, {}).get(external)
        return sorted(entry.root) if isinstance(entry, Organisations) else []

    def merged(self, other: ExternalAddresses) -> ExternalAddresses:
        return ExternalAddresses(authorities={**self.authorities, **other.authorities})


class ExternalAddressesFileError(ProtocolFileError):
    """The address list cannot be used; the message names the file and the field."""


def load_external_addresses(path: Path) -> ExternalAddresses:
    if not path.exists():
        return ExternalAddresses()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ExternalAddresses(authorities=raw)
    except yaml.YAMLError as exc:
        raise ExternalAddressesFileError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(field_problem(err) for err in exc.errors())
        raise ExternalAddressesFileError(f"{path}: {problems}") from exc
