"""Time zones as members type them: IANA names, city names and a few abbreviations, with autocomplete.

Decisions:
- ``resolve_timezone`` accepts every name ``zoneinfo`` knows, case-insensitively, with spaces or underscores,
  including legacy links such as ``US/Eastern`` or ``Asia/Calcutta`` (refusing a valid name would only be unkind);
  those come back under their current name (``America/New_York``, ``Asia/Kolkata``), which is what gets stored.
  It also accepts a city: the last segment of an IANA name ("Sydney", "new york") or a small alias table of large
  cities that have no zone of their own ("Mumbai", "NYC", "San Francisco"), a country with exactly one zone
  ("Germany"), and the US/European abbreviations that are unambiguous. Ambiguous input (a country or an abbreviation
  with several zones, "CST", "IST") is refused with the candidates to choose from.
- The legacy fixed-offset names EST, MST and HST never observe daylight saving; a member typing "EST" means New York
  time, so those three go through the abbreviation table instead of to the fixed offsets.
- ``suggest_timezones`` offers only the current, canonical names from tzdata's ``zone.tab`` (one per populated
  region, e.g. ``Europe/Amsterdam``, ``Asia/Kolkata``, ``Europe/Kyiv``) plus UTC and the alias cities. Legacy links
  (``US/Eastern``, ``Asia/Calcutta``, ``Etc/GMT+5`` whose sign is inverted) are left out so the list stays short and
  unsurprising; they still resolve when typed in full.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from services.errors import PorchlightError
from services.text import clean_text

log = logging.getLogger(__name__)

MAX_CHOICES = 25
MAX_LABEL = 100


class UnknownTimezone(PorchlightError):
    """The text is not a time zone we can place; the message says what to type instead."""


# Large cities whose zone is named after another city. Cities that are themselves the last segment of a zone
# (Berlin, Sydney, New_York, ...) need no entry.
CITY_ALIASES: dict[str, str] = {
    "nyc": "America/New_York",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "philadelphia": "America/New_York",
    "atlanta": "America/New_York",
    "miami": "America/New_York",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "austin": "America/Chicago",
    "minneapolis": "America/Chicago",
    "salt lake city": "America/Denver",
    "la": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "sf": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "portland": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles",
    "montreal": "America/Toronto",
    "ottawa": "America/Toronto",
    "calgary": "America/Edmonton",
    "rio de janeiro": "America/Sao_Paulo",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "birmingham": "Europe/London",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "geneva": "Europe/Zurich",
    "krakow": "Europe/Warsaw",
    "kiev": "Europe/Kyiv",
    "st petersburg": "Europe/Moscow",
    "tel aviv": "Asia/Jerusalem",
    "abu dhabi": "Asia/Dubai",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata",
    "pune": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "guangzhou": "Asia/Shanghai",
    "osaka": "Asia/Tokyo",
    "hanoi": "Asia/Bangkok",
    "canberra": "Australia/Sydney",
    "wellington": "Pacific/Auckland",
    "cape town": "Africa/Johannesburg",
}

# Abbreviations that members type. One zone: accepted; several: refused with the choices.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "et": ("America/New_York",),
    "est": ("America/New_York",),
    "edt": ("America/New_York",),
    "ct": ("America/Chicago",),
    "cdt": ("America/Chicago",),
    "cst": ("America/Chicago", "Asia/Shanghai"),
    "mt": ("America/Denver",),
    "mdt": ("America/Denver",),
    "mst": ("America/Denver", "America/Phoenix"),
    "pt": ("America/Los_Angeles",),
    "pst": ("America/Los_Angeles",),
    "pdt": ("America/Los_Angeles",),
    "hst": ("Pacific/Honolulu",),
    "bst": ("Europe/London",),
    "cest": ("Europe/Berlin",),
    "ist": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "aest": ("Australia/Sydney", "Australia/Brisbane"),
    "jst": ("Asia/Tokyo",),
}

POPULAR: tuple[str, ...] = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Warsaw",
    "Europe/Kyiv",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def _norm(text: str) -> str:
    """Case-folded, with spaces and underscores alike, dots dropped ("St. Petersburg" == "st petersburg")."""
    return " ".join(text.replace("_", " ").replace(".", " ").casefold().split())


def _city(name: str) -> str:
    return name.rsplit("/", 1)[-1].replace("_", " ")


@dataclass(frozen=True, slots=True)
class _Entry:
    value: str  # IANA name
    label: str
    keys: tuple[str, ...]  # normalised strings a query is matched against
    alias: bool = False


@dataclass(frozen=True, slots=True)
class _Tables:
    by_name: dict[str, str]  # normalised IANA name -> IANA name (every available zone)
    by_city: dict[str, tuple[str, ...]]  # normalised last segment -> zones, canonical first
    by_country: dict[str, tuple[str, ...]]  # normalised country name -> canonical zones
    entries: tuple[_Entry, ...]  # what autocomplete searches


def _tzdata_text(name: str) -> str:
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - tzdata is a dependency
        log.warning("tzdata file missing name=%s", name)
        return ""


def _clip(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


@cache
def _tables() -> _Tables:
    available = available_timezones()
    countries: dict[str, str] = {}
    for line in _tzdata_text("iso3166.tab").splitlines():
        if line and not line.startswith("#"):
            code, _, country = line.partition("\t")
            countries[code] = country.strip()

    canonical: dict[str, tuple[str, str]] = {"UTC": ("", "")}  # name -> (country, comment)
    for line in _tzdata_text("zone.tab").splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3 and fields[2] in available:
            canonical[fields[2]] = (countries.get(fields[0], ""), fields[3] if len(fields) > 3 else "")
    if len(canonical) == 1:  # pragma: no cover - fall back to the geographic areas
        areas = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/")
        canonical.update({n: ("", "") for n in available if n.startswith((*areas, "Pacific/"))})

    by_city: dict[str, list[str]] = {}
    for name in sorted(available, key=lambda n: (n not in canonical, n)):
        if "/" in name:
            by_city.setdefault(_norm(_city(name)), []).append(name)

    by_country: dict[str, list[str]] = {}
    for name, (country, _) in canonical.items():  # zone.tab order: a country's main zone comes first
        if country:
            by_country.setdefault(_norm(country), []).append(name)
    entries: list[_Entry] = []
    for name, (country, comment) in sorted(canonical.items()):
        where = ", ".join(part for part in (country, comment) if part)
        if name == "UTC":
            where = "Coordinated Universal Time, no daylight saving"
        label = f"{_city(name)} — {name}" if name != "UTC" else "UTC"
        label += f" ({where})" if where else ""
        keys = tuple(k for k in (_norm(_city(name)), _norm(name), _norm(country)) if k)
        entries.append(_Entry(name, _clip(label), keys))
    for alias, name in sorted(CITY_ALIASES.items()):
        if name in available:
            entries.append(_Entry(name, _clip(f"{alias.title()} — {name}"), (alias,), alias=True))

    # Legacy links ("US/Eastern", "Japan", "Asia/Calcutta") resolve to their current name, unless zone.tab itself
    # lists the link as a place of its own (Europe/Amsterdam is a link to Europe/Brussels, but members expect it).
    links: dict[str, str] = {}
    for line in _tzdata_text("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, link = line.split()[:3]
            if link not in canonical and target in available:
                links[link] = target

    return _Tables(
        by_name={_norm(n): links.get(n, n) for n in available},
        by_city={k: tuple(v) for k, v in by_city.items()},
        by_country={k: tuple(v) for k, v in by_country.items()},
        entries=tuple(entries),
    )


def _refuse(text: str, candidates: list[str], why: str) -> UnknownTimezone:
    shown = text if len(text) <= 60 else text[:59] + "…"
    if candidates:
        options = ", ".join(f"`{c}`" for c in candidates[:5])
        return UnknownTimezone(f"{why.format(text=shown)} Did you mean {options}? Type one of those, or a city name.")
    return UnknownTimezone(
        f"{why.format(text=shown)} Type a time zone name like `Europe/Berlin` or `America/New_York`, or a large "
        "city near you like `London` or `Sydney` — the timezone option suggests names as you type."
    )


def resolve_timezone(text: str) -> ZoneInfo:
    """The zone the member means, or :class:`UnknownTimezone` saying what to type instead."""
    text = clean_text(text) or ""
    query = _norm(text)
    if not query:
        raise _refuse(text, [], "Please give a time zone.")
    tables = _tables()
    if query in ABBREVIATIONS and len(ABBREVIATIONS[query]) == 1:
        return ZoneInfo(ABBREVIATIONS[query][0])
    if query in ABBREVIATIONS:
        raise _refuse(text, list(ABBREVIATIONS[query]), "“{text}” is used for more than one time zone.")
    if query in ("utc", "gmt", "z", "zulu"):
        return ZoneInfo("UTC")
    if query in tables.by_name:
        return ZoneInfo(tables.by_name[query])
    if query in CITY_ALIASES:
        return ZoneInfo(CITY_ALIASES[query])
    city = tables.by_city.get(query, ())
    if city:
        return ZoneInfo(city[0])  # canonical first: "indianapolis" -> America/Indiana/Indianapolis
    country = tables.by_country.get(query, ())
    if len(country) == 1:
        return ZoneInfo(country[0])
    if country:
        raise _refuse(text, list(country), "“{text}” has more than one time zone.")
    pool = list(tables.by_name) + list(tables.by_city) + list(CITY_ALIASES)
    close = difflib.get_close_matches(query, pool, n=5, cutoff=0.75)
    suggestions: list[str] = []
    for match in close:
        name = tables.by_name.get(match) or CITY_ALIASES.get(match) or tables.by_city.get(match, ("",))[0]
        if name and name not in suggestions:
            suggestions.append(name)
    raise _refuse(text, suggestions, "I don't know the time zone “{text}”.")


def is_valid_timezone_name(name: str) -> bool:
    """True for an exact IANA name (what autocomplete hands back)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def suggest_timezones(query: str, limit: int = MAX_CHOICES) -> list[tuple[str, str]]:
    """Autocomplete choices ``(label, IANA value)``: prefix matches first, at most ``min(limit, 25)``."""
    limit = max(0, min(limit, MAX_CHOICES))
    tables = _tables()
    q = _norm(query)
    if not q:
        zones = {e.value: e for e in tables.entries if not e.alias}
        return [(zones[n].label, n) for n in POPULAR if n in zones][:limit]

    ranked: list[tuple[int, str, _Entry]] = []
    for entry in tables.entries:
        rank = None
        for index, key in enumerate(entry.keys):
            floor = 2 if index == 2 else 0  # a country match ranks after city and name prefixes
            words = key.replace("/", " ").split()
            if key == q:
                r = 0
            elif key.startswith(q):
                r = 1
            elif any(w.startswith(q) for w in words) or f"/{q}" in key or f" {q}" in key:
                r = 2
            elif q in key:
                r = 3
            else:
                continue
            r = max(r, floor)
            rank = r if rank is None else min(rank, r)
        if rank is not None:
            ranked.append((rank, entry.label.casefold(), entry))
    ranked.sort(key=lambda item: (item[0], item[1]))
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for _, _, entry in ranked:
        if entry.label in seen:
            continue
        seen.add(entry.label)
        out.append((entry.label, entry.value))
        if len(out) >= limit:
            break
    return out
