"""A page's prose, read from pages/text/<page>.md so that it can be edited without the code.

A file is sections by heading: the part under the `# Title` is "intro", each `## Heading`
is a section of that name. {{name}} in a section is filled from the values the page
passes (settings, measurements, a checkpoint's metadata); a name the page does not pass
is an error, as is a missing file or section.
"""
from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from pages.ui.link import part

TEXT_DIR = Path(__file__).resolve().parent.parent / "text"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@st.cache_data(show_spinner=False)
def _sections(path: str, mtime: float) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current = "intro"
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
        elif not line.startswith("# "):
            sections.setdefault(current, []).append(line)
    return {name: "\n".join(lines).strip() for name, lines in sections.items()}


def sections(page: str) -> dict[str, str]:
    """Every section of pages/text/<page>.md, unfilled."""
    path = TEXT_DIR / f"{page}.md"
    return _sections(str(path), path.stat().st_mtime)


def text(page: str, section: str = "intro", **values) -> str:
    """One section of pages/text/<page>.md with its {{name}} placeholders filled."""
    found = sections(page)
    if section not in found:
        raise KeyError(f"pages/text/{page}.md has no section '## {section}'")

    def fill(m: re.Match) -> str:
        if m.group(1) not in values:
            raise KeyError(f"pages/text/{page}.md, section '{section}', needs a value for {{{{{m.group(1)}}}}}")
        return str(values[m.group(1)])
    return PLACEHOLDER.sub(fill, found[section])


def try_this(page: str, expanded: bool) -> None:
    """The page's "Try this" box (its section of that name), open or not as the link says;
    ?hide=tips hides it."""
    with part("tips", "try"):
        with st.expander("Try this", expanded=expanded, key="try_this", bind="query-params"):
            st.markdown(text(page, "Try this"))
