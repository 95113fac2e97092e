() => {
  const problems = [];
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const label = (el) => (el.innerText || el.textContent || '').trim().slice(0, 60);
  // cut text: metric values, buttons, page links, headings, tabs, radio/checkbox labels
  const cutSel = ['[data-testid="stMetricValue"]', '[data-testid="stMetricLabel"]', 'button', '[data-testid="stPageLink"] a',
                  'h1', 'h2', 'h3', 'h4', '[data-testid="stMarkdownContainer"] p', '[data-testid="stWidgetLabel"]'];
  for (const sel of cutSel) {
    for (const el of main.querySelectorAll(sel)) {
      if (!el.offsetParent || el.closest('.katex')) continue;
      const inner = el.querySelectorAll('*');
      for (const e of [el, ...inner]) {
        if (e.closest('.katex')) continue;
        if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible'
            && e.clientWidth > 0 && label(e)) {
          problems.push(`cut ${sel}: "${label(e)}" (${e.scrollWidth} > ${e.clientWidth})`); break;
        }
      }
    }
  }
  // words broken across lines in headings
  for (const h of main.querySelectorAll('h1, h2, h3, h4')) {
    const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const re = /\S+/g; let m;
      while ((m = re.exec(node.textContent))) {
        const r = document.createRange(); r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
        if (tops.size > 1) problems.push(`broken word in heading: "${m[0]}"`);
      }
    }
  }
  // sample grids shown smaller than 3/4 of their size (64 px tiles -> under 48 px)
  for (const img of main.querySelectorAll('[data-testid="stImage"] img, img[data-testid="stImage"]')) {
    if (img.offsetParent && img.naturalWidth > 200 && img.clientWidth < 0.75 * img.naturalWidth - 1)   // shown ones
      problems.push(`grid shrunk: ${img.clientWidth}px of ${img.naturalWidth}px`);
  }
  // plotly: the legend clear of the axis titles and of the title
  const inter = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  for (const plot of main.querySelectorAll('.js-plotly-plot')) {
    const legend = plot.querySelector('.legend');
    if (!legend) continue;
    const lb = legend.getBoundingClientRect();
    for (const t of plot.querySelectorAll('.g-xtitle, .g-ytitle, .g-x2title, .g-x3title, .gtitle')) {
      const tb = t.getBoundingClientRect();
      if (tb.width && inter(lb, tb)) problems.push(`legend over "${label(t)}"`);
    }
  }
  return problems;
}
