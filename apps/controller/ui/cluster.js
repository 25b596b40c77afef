// The cluster dashboard: /v1/cluster of this controller, redrawn every 2 s.
import { el, fetchJson } from './dom.js';

const PERIOD_MS = 2000;

function table(caption, headings, rows, attrs = {}) {
  return el('table', { class: 'figures', ...attrs },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows),
  );
}

function render(status) {
  const pools = new Map();
  for (const w of status.workers) (pools.get(w.pool) ?? pools.set(w.pool, []).get(w.pool)).push(w);
  document.getElementById('pools').replaceChildren(
    ...(pools.size === 0 ? [el('p', { class: 'muted' }, 'No worker has joined.')] : []),
    ...[...pools.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([pool, workers]) =>
      el('div', { class: 'cluster-pool', 'data-pool': pool },
        table(`Pool ${pool}: ${workers.length} worker${workers.length === 1 ? '' : 's'}`, ['Worker', 'Address', 'CPU free / total', 'Memory free / total', 'GPU memory free / total', 'Replicas', 'Heartbeat age', 'State'],
          workers.map((w) => el('tr', { 'data-worker': w.id },
            el('th', { scope: 'row' }, w.id),
            el('td', {}, w.address),
            el('td', { class: 'num' }, `${w.free.cpu} / ${w.capacity.cpu}`),
            el('td', { class: 'num' }, `${w.free.memory} / ${w.capacity.memory}`),
            el('td', { class: 'num' }, `${w.free.gpuMemory} / ${w.capacity.gpuMemory}`),
            el('td', { class: 'num' }, String(w.replicas)),
            el('td', { class: 'num' }, `${w.lastHeartbeatAgeMs} ms`),
            el('td', {}, w.draining ? 'draining' : 'serving'),
          ))),
      ),
    ),
  );
  const replicaRows = status.graphs.flatMap((g) => g.nodes.flatMap((n) =>
    n.replicas.length === 0
      ? [el('tr', { 'data-key': n.key }, el('th', { scope: 'row' }, n.key), el('td', { class: 'num' }, String(n.wanted)), el('td', {}, '—'), el('td', {}, '—'), el('td', {}, 'none placed'))]
      : n.replicas.map((r) => el('tr', { 'data-key': n.key }, el('th', { scope: 'row' }, n.key), el('td', { class: 'num' }, String(n.wanted)), el('td', {}, String(r.replica)), el('td', {}, r.worker), el('td', { class: r.state === 'READY' ? 'state-ready' : r.state === 'FAILED' ? 'state-failed' : '' }, r.state))),
  ));
  document.getElementById('replicas').replaceChildren(table('Replicas by node (graph.node)', ['Node', 'Wanted', 'Replica', 'Worker', 'State'], replicaRows));
  document.getElementById('pending').replaceChildren(
    status.pending.length === 0
      ? el('p', { class: 'muted' }, 'Every wanted replica is placed.')
      : table('Replicas the planner could not place', ['Node', 'Replica', 'Reason'], status.pending.map((p) => el('tr', {}, el('th', { scope: 'row' }, p.key), el('td', { class: 'num' }, String(p.replica)), el('td', {}, p.reason)))),
  );
  document.getElementById('routing').replaceChildren(
    el('p', { 'data-field': 'routing-version' }, `Routing table version ${status.routing.version}`),
    table('Routes', ['Node', 'Addresses'], status.routing.routes.map((r) => el('tr', {}, el('th', { scope: 'row' }, r.key), el('td', {}, r.addresses.join(', '))))),
  );
  document.getElementById('live-status').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function refresh() {
  try {
    render(await fetchJson('/v1/cluster'));
  } catch (err) {
    document.getElementById('live-status').textContent = `could not read /v1/cluster: ${err.message}`;
  }
}

void refresh();
setInterval(() => void refresh(), PERIOD_MS);
