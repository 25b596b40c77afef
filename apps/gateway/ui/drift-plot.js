// Drift p-values per feature over the completed windows, as an SVG line plot with the threshold; a feature's
// button draws its reference sample against the latest tested window as a histogram.
import { el, fetchJson, fmt, svg } from './dom.js';

const COLORS = ['#0b5cad', '#c1440e', '#1b6e20', '#6a3d9a', '#8c6d1f', '#00727a', '#b0306a', '#3d3d3d'];
const W = 560;
const H = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 30 };

/** A card for one drift node's status (GET /v1/graphs/:g/nodes/:n/drift). */
export function driftCard(status) {
  const latest = status.latest;
  const badge = latest === undefined ? el('span', { class: 'badge' }, 'no window yet') : el('span', { class: `badge ${latest.is_drift ? 'drift' : 'nodrift'}`, 'data-field': 'is_drift' }, latest.is_drift ? 'drift' : 'no drift');
  const card = el('div', { class: 'card', 'data-drift': `${status.graph}.${status.node}` },
    el('h3', {}, `${status.graph} · ${status.node} (${status.method})`),
    el('p', {}, 'Latest window: ', badge, ` · windows completed ${status.windows_completed}, dropped ${status.windows_dropped}, failures ${status.failures}`),
  );
  if (status.history.length > 0) card.append(plot(status));
  return card;
}

function plot(status) {
  const history = status.history;
  const threshold = history[history.length - 1].threshold;
  const x = (i) => PAD.left + (history.length === 1 ? (W - PAD.left - PAD.right) / 2 : (i * (W - PAD.left - PAD.right)) / (history.length - 1));
  const y = (p) => PAD.top + (1 - p) * (H - PAD.top - PAD.bottom);
  const titleId = `drift-${status.graph}-${status.node}`;
  const root = svg('svg', { width: W, height: H, class: 'plot', role: 'img', 'aria-labelledby': titleId, 'data-plot': 'drift' },
    svg('title', { id: titleId }, `p-values of ${status.features.length} features over ${history.length} windows; threshold ${threshold}`),
    svg('line', { class: 'axis', x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0) }),
    svg('line', { class: 'axis', x1: PAD.left, y1: y(0), x2: PAD.left, y2: y(1) }),
    svg('text', { x: 4, y: y(1) + 4 }, '1'),
    svg('text', { x: 4, y: y(0) }, '0'),
    svg('text', { x: 4, y: y(0.5) + 4 }, 'p'),
    svg('line', { class: 'threshold', x1: PAD.left, y1: y(threshold), x2: W - PAD.right, y2: y(threshold), 'data-threshold': threshold }),
    svg('text', { x: W - PAD.right - 110, y: y(threshold) - 4 }, `threshold ${threshold}`),
    svg('text', { x: PAD.left, y: H - 8 }, `rows to ${history[0].window.end}`),
  );
  if (history.length > 1) root.append(svg('text', { x: W - PAD.right - 90, y: H - 8 }, `rows to ${history[history.length - 1].window.end}`));
  status.features.forEach((feature, f) => {
    const points = history.map((h, i) => `${x(i)},${y(Math.min(1, Math.max(0, h.p_val[f] ?? 0)))}`).join(' ');
    const color = COLORS[f % COLORS.length];
    root.append(svg('polyline', { class: 'series', points, stroke: color, 'data-feature': feature }));
    for (const [i, h] of history.entries()) root.append(svg('circle', { cx: x(i), cy: y(Math.min(1, Math.max(0, h.p_val[f] ?? 0))), r: 2.5, fill: color }));
  });
  const histogram = el('div', { 'data-field': 'histogram', 'aria-live': 'polite' });
  const legend = el('ul', { class: 'muted' }, ...status.features.map((feature, f) => {
    const button = el('button', { type: 'button', class: 'feature-button', 'data-histogram': feature }, `${feature}: latest p = ${fmt(history[history.length - 1].p_val[f], 4)} (${COLORS[f % COLORS.length]}) — histogram`);
    button.addEventListener('click', () => void showHistogram(status, feature, histogram));
    return el('li', {}, button);
  }));
  return el('div', {}, root, legend, histogram);
}

async function showHistogram(status, feature, target) {
  const url = `/v1/graphs/${encodeURIComponent(status.graph)}/nodes/${encodeURIComponent(status.node)}/drift/histogram?feature=${encodeURIComponent(feature)}`;
  try {
    target.replaceChildren(histogramPlot(await fetchJson(url)));
  } catch (err) {
    target.replaceChildren(el('p', { class: 'error' }, `histogram of ${feature}: ${err.message}`));
  }
}

/** Reference sample and latest window of one feature, as shares per bin, side by side. */
function histogramPlot(h) {
  const bins = h.reference.length;
  const top = Math.max(...h.reference, ...(h.recent ?? []), 0.01);
  const slot = (W - PAD.left - PAD.right) / bins;
  const y = (share) => PAD.top + (1 - share / top) * (H - PAD.top - PAD.bottom);
  const titleId = `histogram-${h.feature}`;
  const root = svg('svg', { width: W, height: H, class: 'plot', role: 'img', 'aria-labelledby': titleId, 'data-plot': 'histogram', 'data-feature': h.feature },
    svg('title', { id: titleId }, `${h.feature}: reference sample (${h.referenceSize} values) against the latest window (${h.recentSize} values), share per bin`),
    svg('line', { class: 'axis', x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0) }),
    svg('text', { x: 4, y: y(top) + 4 }, fmt(top, 2)),
    svg('text', { x: 4, y: y(0) }, '0'),
    svg('text', { x: PAD.left, y: H - 8 }, fmt(h.edges[0], 2)),
    svg('text', { x: W - PAD.right - 40, y: H - 8 }, fmt(h.edges[h.edges.length - 1], 2)),
  );
  const series = [['reference', h.reference, COLORS[0]], ...(h.recent === undefined ? [] : [['recent', h.recent, COLORS[1]]])];
  series.forEach(([name, shares, color], s) => {
    shares.forEach((share, b) => {
      const x = PAD.left + b * slot + (s * slot) / 2 + 1;
      root.append(svg('rect', { x, y: y(share), width: Math.max(1, slot / 2 - 2), height: y(0) - y(share), fill: color, 'data-series': name }));
    });
  });
  const caption = el('p', { class: 'muted' }, `${h.feature}: reference (${COLORS[0]}) against ${h.recent === undefined ? 'no window yet' : `the latest window (${COLORS[1]})`}`);
  return el('div', {}, caption, root);
}

/**
 * Outlier rates: flagged share of scored rows per outlier node since load, and over time (the share of each
 * interval's new rows, from the counts the live feed carried; `history` maps graph.node to them).
 */
export function outlierTable(nodeStats, history) {
  const rows = nodeStats.filter((s) => s.outliers !== undefined);
  if (rows.length === 0) return el('p', { class: 'muted' }, 'No outlier node has scored rows yet.');
  return el('table', { class: 'figures', 'data-field': 'outliers' },
    el('caption', {}, 'Outlier nodes'),
    el('thead', {}, el('tr', {}, ...['Graph', 'Node', 'Rows', 'Flagged', 'Rate since load', 'Rate over time'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows.map((s) => el('tr', { 'data-node': `${s.graph}.${s.node}` }, el('td', {}, s.graph), el('td', {}, s.node), el('td', { class: 'num' }, String(s.outliers.rows)), el('td', { class: 'num' }, String(s.outliers.flagged)), el('td', { class: 'num' }, `${fmt((100 * s.outliers.flagged) / Math.max(1, s.outliers.rows))} %`), el('td', {}, sparkline(history.get(`${s.graph}.${s.node}`) ?? [], `${s.graph}.${s.node}`))))),
  );
}

function sparkline(points, name) {
  const rates = [];
  for (let i = 1; i < points.length; i++) {
    const rows = points[i].rows - points[i - 1].rows;
    if (rows > 0) rates.push((points[i].flagged - points[i - 1].flagged) / rows);
  }
  if (rates.length === 0) return el('span', { class: 'muted' }, 'no new rows yet');
  const w = 160;
  const h = 28;
  const x = (i) => (rates.length === 1 ? w / 2 : (i * w) / (rates.length - 1));
  const line = rates.map((r, i) => `${x(i)},${h - 2 - r * (h - 4)}`).join(' ');
  return svg('svg', { width: w, height: h, role: 'img', 'aria-label': `outlier share of new rows of ${name} over the last ${rates.length} intervals: latest ${fmt(100 * rates[rates.length - 1])} %`, 'data-plot': 'outliers' },
    svg('polyline', { points: line, fill: 'none', stroke: '#6a3d9a', 'stroke-width': 1.5 }),
    ...(rates.length === 1 ? [svg('circle', { cx: x(0), cy: h - 2 - rates[0] * (h - 4), r: 2.5, fill: '#6a3d9a' })] : []),
  );
}
