"""The runbook catalogue: Markdown pages in `dashapp/runbooks/<slug>.md`, one per alert kind at least.
Alert rules name their page by slug (`AlertRule.runbook`); the Alerts page links to
`/operations/runbooks?slug=<slug>`. Read-only, from the package (no database)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dashapp.services.errors import NotFound, ValidationError
from dashapp.services.ops.runbook_actions import ACTIONS

CATALOG_DIR = Path(__file__).resolve().parents[2] / "runbooks"
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
DEFAULT_SLUG = "engine-fault"


@dataclass(frozen=True)
class Runbook:
    slug: str
    title: str
    text: str
    actions: tuple[str, ...]  # the allowlisted actions its steps name (in bold, by title)


def url(slug: str) -> str:
    return f"/operations/runbooks?slug={slug}"


def _title(text: str, slug: str) -> str:
    first = next((line for line in text.splitlines() if line.startswith("# ")), "")
    return first[2:].strip() or slug


@lru_cache(maxsize=1)
def catalog() -> tuple[Runbook, ...]:
    pages = []
    for path in sorted(CATALOG_DIR.glob("*.md")):
        slug, text = path.stem, path.read_text(encoding="utf-8")
        if SLUG.match(slug):
            linked = tuple(name for name, spec in ACTIONS.items() if f"**{spec.title}**" in text)
            pages.append(Runbook(slug, _title(text, slug), text, linked))
    return tuple(sorted(pages, key=lambda page: page.title))


def get(slug: str | None) -> Runbook:
    slug = (slug or DEFAULT_SLUG).strip().lower()
    if not SLUG.match(slug):
        raise ValidationError("runbook slug: lower-case letters, digits, '.', '_' or '-' (at most 80)", field="slug")
    for page in catalog():
        if page.slug == slug:
            return page
    raise NotFound(f"no runbook {slug!r} in the catalogue", field="slug")
