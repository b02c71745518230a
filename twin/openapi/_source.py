"""Where Discord's OpenAPI document is read from, and the URI it is registered under for ``$ref`` resolution."""

from __future__ import annotations

from pathlib import Path

SPEC_ENV_VAR = "PORCHLIGHT_OPENAPI_SPEC"
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[3] / "shared/discord-api-spec/openapi.json"
SPEC_URI = "urn:porchlight:discord-openapi"
