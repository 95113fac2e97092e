"""Lesson links: every view is a link, handouts that hide parts, presenter mode.

A page's view is in its URL: the widgets that make it (noise type, SNR range, run shown,
history step, image pair, class, seed, open sections) are bound to query parameters by
Streamlit itself (`bind="query-params"`: the key is the parameter, a value at its default
is left out), so "Copy link" copies the address bar as it is. Two parameters change how a
page looks rather than what it shows:

- `?hide=train,settings` hides those parts (HIDEABLE) for a student handout;
- `?present=1` is presenter mode for a 1280x720 projector: the sidebar collapsed, no
  training settings, larger text and figures.

Hidden parts are still drawn, inside a container CSS hides: the page's code runs the same
with or without them (a hidden setting keeps its value, from the link or its default).
"""
from __future__ import annotations

import streamlit as st

HIDEABLE = {
    "tips": "the 'Try this' boxes",
    "train": "training: the Train button, the run's actions and the race",
    "settings": "the training settings (time limit, learning rate, batch size, ...)",
    "upload": "bringing your own files: traces, galaxy sets, run bundles",
    "nav": "the sidebar, so students stay on the page they were sent to",
    "link": "the Copy link button",
}
PRESENT_HIDES = ("settings",)      # and the sidebar starts collapsed (app.py)

# Presenter mode: text a quarter larger (Streamlit sizes text in rem), the page as wide as the
# projector, Plotly's labels larger (they are SVG text in px), images half as large again (as
# far as their column allows).
PRESENT_CSS = """
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding: 4rem 2rem 3rem; }
.js-plotly-plot .xtick text, .js-plotly-plot .ytick text, .js-plotly-plot .legendtext,
.js-plotly-plot .g-xtitle text, .js-plotly-plot .g-ytitle text, .js-plotly-plot .annotation-text {
  font-size: 15px !important; }
[data-testid="stImage"] img { zoom: 1.5; max-width: calc(100% / 1.5); }
"""
NAV_CSS = '[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none; }'

COPY_LINK_HTML = """
<div style="display:flex;gap:.5rem;align-items:center;justify-content:flex-end">
  <input data-testid="autoenc-link" readonly aria-label="this view's link"
         style="flex:0 1 22rem;min-width:6rem;font-size:.8rem;padding:.25rem .4rem;border:1px solid #d0d4da;
                border-radius:.4rem;color:#495057;background:#f8f9fa;display:none">
  <button data-testid="autoenc-copy-link" title="copy the address of this exact view: send it to students"
          style="font-size:.9rem;padding:.3rem .8rem;border:1px solid #d0d4da;border-radius:.5rem;
                 background:white;cursor:pointer">Copy link</button>
</div>
<script>
(() => {
  const root = document.currentScript ? document.currentScript.parentElement : document;
  const button = root.querySelector('[data-testid="autoenc-copy-link"]');
  const field = root.querySelector('[data-testid="autoenc-link"]');
  if (!button || button.dataset.ready) return;
  button.dataset.ready = "1";
  const label = button.innerHTML;
  button.addEventListener("click", async () => {
    const href = window.location.href;
    field.value = href; field.style.display = "block";
    let copied = false;
    try { await navigator.clipboard.writeText(href); copied = true; } catch (e) {
      field.select(); copied = document.execCommand && document.execCommand("copy"); }
    button.textContent = copied ? "\\u2713 Link copied" : "Select the link and copy it";
    setTimeout(() => { button.innerHTML = label; }, 4000);
  });
})();
</script>
"""


def hidden_parts() -> tuple[set[str], list[str]]:
    """The parts this link hides, and the names in ?hide= that are not parts."""
    asked = {name.strip().lower() for value in st.query_params.get_all("hide") for name in value.split(",")}
    asked.discard("")
    unknown = sorted(asked - set(HIDEABLE))
    parts = asked & set(HIDEABLE)
    if presenting():
        parts |= set(PRESENT_HIDES)
    return parts, unknown


def presenting() -> bool:
    return st.query_params.get("present", "").lower() in ("1", "true", "yes", "on")


def part(name: str, key: str):
    """A container for a part of the page that ?hide=name hides (HIDEABLE)."""
    assert name in HIDEABLE, name
    return st.container(key=f"part-{name}-{key}")


def link_bar() -> None:
    """At the top of every page: the Copy link button, and the CSS of this link's hidden
    parts and presenter mode."""
    parts, unknown = hidden_parts()
    css = "".join(f'[class*="st-key-part-{p}-"] {{ display: none; }}' for p in sorted(parts - {"nav"}))
    css += NAV_CSS if "nav" in parts else ""
    css += PRESENT_CSS if presenting() else ""
    if css:
        st.html(f"<style>{css}</style>")
    if unknown:
        st.warning(f"This link asks to hide {', '.join(repr(u) for u in unknown)}, which is not a part of the page; "
                   f"the parts are: {', '.join(HIDEABLE)}.", icon=":material/link_off:")
    if "link" not in parts:
        st.html(COPY_LINK_HTML, unsafe_allow_javascript=True)
