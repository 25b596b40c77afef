// The gateway dashboard: graph list, DAGs with live figures (Server-Sent Events from /v1/live), "Try it"
// and the drift detectors. Everything comes from this gateway's own operator endpoints.
import { drawDag } from './dag-view.js';
import { el, fetchJson, fmt } from './dom.js';
import { driftCard, outlierTable } from './drift-plot.js';
import { watchKafka } from './kafka-view.js';
import { setUpTryIt } from './try-it.js';

const updaters = new Map();
let graphs = [];
/** Settles once the graph list arrived: the detectors tab may open before that. */
let listed;
const graphsListed = new Promise((resolve) => (listed = resolve));
let lastStats;
/** Outlier counts per graph.node as each snapshot carried them (the last 120). */
const outlierHistory = new Map();
let snapshots = 0;

function setUpTabs() {
  const tabs = [...document.querySelectorAll('.tab')];
  const show = (name) => {
    for (const t of tabs) {
      const on = t.dataset.tab === name;
      if (on) t.setAttribute('aria-current', 'page');
      else t.removeAttribute('aria-current');
      document.getElementById(t.dataset.tab).hidden = !on;
    }
    if (name === 'detectors') void refreshDetectors();
  };
  for (const t of tabs) t.addEventListener('click', () => show(t.dataset.tab));
}

async function loadGraphs() {
  try {
    graphs = (await fetchJson('/v1/graphs')).graphs;
  } finally {
    listed();
  }
  const tbody = document.querySelector('#graph-list tbody');
  tbody.replaceChildren(
    ...graphs.map((g) =>
      el('tr', { 'data-graph': g.name },
        el('th', { scope: 'row' }, g.name),
        el('td', { class: `state-${g.state}` }, g.state),
        el('td', {}, g.version ?? '—'),
        el('td', { class: 'num' }, g.loadMs === undefined ? '—' : `${fmt(g.loadMs, 0)} ms`),
        el('td', { class: 'num', 'data-field': 'shadow' }, `${g.shadow.ok} / ${g.shadow.failed}`),
        el('td', { class: 'error' }, g.error ?? ''),
      ),
    ),
  );
  setUpTryIt(graphs.filter((x) => x.state === 'ready').map((x) => x.name));
  const dags = document.getElementById('dags');
  dags.replaceChildren();
  for (const g of graphs.filter((x) => x.state === 'ready')) {
    const card = el('section', { class: 'card', 'aria-label': `graph ${g.name}`, 'data-card': g.name }, el('h3', {}, `${g.name}${g.version === undefined ? '' : ` v${g.version}`}`));
    dags.append(card);
    const topology = await fetchJson(`/v1/graphs/${encodeURIComponent(g.name)}/topology`);
    updaters.set(g.name, await drawDag(card, topology));
    if (g.batching !== undefined) card.append(el('p', { class: 'muted' }, `Batching: ${Object.entries(g.batching).map(([node, b]) => `${node} up to ${b.maxBatchSize} rows, ${b.maxQueueDelayMicros} µs`).join('; ')}`));
  }
  if (lastStats !== undefined) applyStats(lastStats);
}

function applyStats(stats) {
  lastStats = stats;
  for (const n of stats.nodes) {
    if (n.outliers === undefined) continue;
    const key = `${n.graph}.${n.node}`;
    // A node absent from an earlier snapshot of this page had scored nothing then.
    const points = outlierHistory.get(key) ?? outlierHistory.set(key, snapshots > 0 ? [{ rows: 0, flagged: 0 }] : []).get(key);
    points.push({ rows: n.outliers.rows, flagged: n.outliers.flagged });
    if (points.length > 120) points.shift();
  }
  snapshots++;
  for (const [graph, update] of updaters) update(stats.nodes.filter((n) => n.graph === graph));
  for (const g of stats.graphs) {
    const cell = document.querySelector(`#graph-list tr[data-graph="${CSS.escape(g.name)}"] [data-field="shadow"]`);
    if (cell !== null) cell.textContent = `${g.shadow.ok} / ${g.shadow.failed}`;
  }
  document.getElementById('live-status').textContent = `live · ${new Date(stats.at).toLocaleTimeString()}`;
  if (!document.getElementById('detectors').hidden) document.getElementById('outliers').replaceChildren(outlierTable(stats.nodes, outlierHistory));
}

async function refreshDetectors() {
  await graphsListed;
  const cards = [];
  for (const g of graphs.filter((x) => x.state === 'ready' && (x.driftNodes ?? []).length > 0)) {
    for (const node of g.driftNodes) {
      try {
        cards.push(driftCard(await fetchJson(`/v1/graphs/${encodeURIComponent(g.name)}/nodes/${encodeURIComponent(node)}/drift`)));
      } catch (err) {
        cards.push(el('p', { class: 'error' }, `${g.name}.${node}: ${err.message}`));
      }
    }
  }
  document.getElementById('drift').replaceChildren(...(cards.length > 0 ? cards : [el('p', { class: 'muted' }, 'No graph has a drift node.')]));
  document.getElementById('outliers').replaceChildren(outlierTable(lastStats?.nodes ?? [], outlierHistory));
}

function connectLive() {
  const source = new EventSource('/v1/live');
  source.addEventListener('stats', (e) => applyStats(JSON.parse(e.data)));
  source.addEventListener('drift', () => {
    if (!document.getElementById('detectors').hidden) void refreshDetectors();
  });
  source.addEventListener('error', () => (document.getElementById('live-status').textContent = 'live feed reconnecting…'));
}

setUpTabs();
connectLive();
watchKafka(document.getElementById('kafka'));
loadGraphs().catch((err) => document.getElementById('dags').replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not load the graphs: ${err.message}`)));
