// A graph's DAG as SVG, laid out by elkjs (its browser build defines the ELK global), with the live figures
// of each node written into its box and into a table beside it (the table is the text alternative).
import { el, fmt, svg } from './dom.js';

const NODE_W = 210;
const NODE_H = 78;

/** Draws `topology` into `container`; returns `update(nodeStats)` for the live feed. */
export async function drawDag(container, topology) {
  const elk = new globalThis.ELK();
  const layout = await elk.layout({
    id: 'root',
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.spacing.nodeNode': '28', 'elk.layered.spacing.nodeNodeBetweenLayers': '56', 'elk.edgeRouting': 'POLYLINE' },
    children: topology.nodes.map((n) => ({ id: n.name, width: NODE_W, height: NODE_H })),
    edges: topology.edges.map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  });
  const width = Math.ceil(layout.width ?? 400) + 20;
  const height = Math.ceil(layout.height ?? 100) + 20;
  const titleId = `dag-title-${topology.graph}`;
  const root = svg('svg', { width, height, viewBox: `-10 -10 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, 'data-graph': topology.graph });
  root.append(
    svg('title', { id: titleId }, `DAG of graph ${topology.graph}: ${topology.nodes.length} nodes, ${topology.edges.length} edges`),
    svg('defs', {}, svg('marker', { id: `arrow-${topology.graph}`, viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }))),
  );
  for (const [i, e] of (layout.edges ?? []).entries()) {
    const info = topology.edges[i];
    for (const s of e.sections ?? []) {
      const points = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${p.x},${p.y}`).join(' ');
      root.append(svg('polyline', { points, class: `edge${info.shadow ? ' shadow' : ''}`, 'data-edge': `${info.from}->${info.to}`, 'marker-end': `url(#arrow-${topology.graph})` }));
    }
  }
  const boxes = new Map();
  for (const c of layout.children ?? []) {
    const n = topology.nodes.find((x) => x.name === c.id);
    const where = [n.type, n.transport, n.replicas === undefined ? undefined : `×${n.replicas}`].filter(Boolean).join(' · ');
    const metrics = svg('text', { x: 8, y: 50, class: 'metrics' }, '— req/s · p50 — · p99 — ms');
    const extra = svg('text', { x: 8, y: 67, class: 'extra' }, 'errors 0');
    const g = svg('g', { class: `node type-${n.type}`, transform: `translate(${c.x},${c.y})`, 'data-node': n.name },
      svg('rect', { width: NODE_W, height: NODE_H, rx: 6 }),
      svg('text', { x: 8, y: 17, class: 'name' }, n.name),
      svg('text', { x: 8, y: 33 }, where),
      metrics,
      extra,
    );
    root.append(g);
    boxes.set(n.name, { g, metrics, extra });
  }
  const rows = new Map();
  const tbody = el('tbody');
  for (const n of topology.nodes) {
    const cells = { rate: el('td', { class: 'num', 'data-field': 'rate' }, '—'), p50: el('td', { class: 'num', 'data-field': 'p50' }, '—'), p99: el('td', { class: 'num', 'data-field': 'p99' }, '—'), calls: el('td', { class: 'num', 'data-field': 'calls' }, '0'), errors: el('td', { class: 'num', 'data-field': 'errors' }, '0'), more: el('td', { 'data-field': 'more' }, '') };
    tbody.append(el('tr', { 'data-node': n.name }, el('th', { scope: 'row' }, n.name), cells.rate, cells.p50, cells.p99, cells.calls, cells.errors, cells.more));
    rows.set(n.name, cells);
  }
  const table = el('table', { class: 'figures', 'data-graph': topology.graph },
    el('caption', {}, `Live figures of ${topology.graph} (rate, percentiles over the last 10 s; counts since load)`),
    el('thead', {}, el('tr', {}, ...['Node', 'req/s', 'p50 ms', 'p99 ms', 'calls', 'errors', 'routes · batches · outliers'].map((h) => el('th', { scope: 'col' }, h)))),
    tbody,
  );
  container.append(el('div', { class: 'dag' }, root), table);

  return (nodeStats) => {
    for (const s of nodeStats) {
      const box = boxes.get(s.node);
      const row = rows.get(s.node);
      if (box === undefined || row === undefined) continue;
      const more = describeExtras(s);
      box.metrics.textContent = `${fmt(s.ratePerSecond)} req/s · p50 ${fmt(s.p50Ms, 2)} · p99 ${fmt(s.p99Ms, 2)} ms`;
      box.extra.textContent = `errors ${s.errors}${more === '' ? '' : ` · ${more}`}`.slice(0, 38);
      box.g.classList.toggle('has-errors', s.errors > 0);
      row.rate.textContent = fmt(s.ratePerSecond);
      row.p50.textContent = fmt(s.p50Ms, 2);
      row.p99.textContent = fmt(s.p99Ms, 2);
      row.calls.textContent = String(s.calls);
      row.errors.textContent = String(s.errors);
      row.more.textContent = more;
    }
  };
}

/** Router splits (share per route), batch sizes and outlier counts, in words. */
function describeExtras(s) {
  const parts = [];
  if (s.routes !== undefined) {
    const total = Object.values(s.routes).reduce((a, b) => a + b, 0);
    parts.push(Object.entries(s.routes).map(([route, n]) => `${route} ${Math.round((100 * n) / total)}%`).join(' '));
  }
  if (s.batches !== undefined) parts.push(`${s.batches.count} batches, mean ${fmt(s.batches.meanSize)} rows, last ${s.batches.lastSize}`);
  if (s.outliers !== undefined) parts.push(`${s.outliers.flagged}/${s.outliers.rows} rows flagged`);
  return parts.join(' · ');
}
