// "Try it": a V2 request to a graph, pre-filled from its metadata, answered with outputs and the per-node trace.
import { el, fetchJson, fmt } from './dom.js';

/** Wires the form; `graphs` are the ready graph names. */
export function setUpTryIt(graphs) {
  const select = document.getElementById('try-graph');
  const body = document.getElementById('try-body');
  const result = document.getElementById('try-result');
  select.replaceChildren(...graphs.map((g) => el('option', { value: g }, g)));
  const prefill = async () => {
    if (select.value === '') return;
    try {
      const meta = await fetchJson(`/v2/models/${encodeURIComponent(select.value)}`);
      body.value = JSON.stringify({ inputs: meta.inputs.map(exampleInput), parameters: { trace: true } }, null, 2);
    } catch (err) {
      body.value = '';
      result.replaceChildren(el('p', { class: 'error' }, `metadata: ${err.message}`));
    }
  };
  select.addEventListener('change', () => void prefill());
  document.getElementById('try-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void send(select.value, body.value, document.getElementById('try-key').value, result);
  });
  void prefill();
}

/** One row of a tensor the metadata describes (-1 dimensions become 1), filled with zeros. */
function exampleInput(input) {
  const shape = input.shape.map((d) => (d < 0 ? 1 : d));
  const count = shape.reduce((a, b) => a * b, 1);
  const value = input.datatype === 'BYTES' ? '' : input.datatype === 'BOOL' ? false : 0;
  return { name: input.name, datatype: input.datatype, shape, data: new Array(count).fill(value) };
}

async function send(graph, text, key, result) {
  let request;
  try {
    request = JSON.parse(text);
  } catch (err) {
    result.replaceChildren(el('p', { class: 'error', role: 'alert' }, `The request body is not JSON: ${err.message}`));
    return;
  }
  request.parameters = { ...(request.parameters ?? {}), trace: true };
  const headers = { 'content-type': 'application/json', ...(key === '' ? {} : { authorization: `Bearer ${key}` }) };
  try {
    const response = await fetchJson(`/v2/models/${encodeURIComponent(graph)}/infer`, { method: 'POST', headers, body: JSON.stringify(request) });
    const trace = response.parameters?.trace?.nodes ?? [];
    result.replaceChildren(
      el('h3', {}, 'Outputs'),
      el('pre', { 'data-field': 'outputs' }, JSON.stringify(response.outputs, null, 1)),
      response.parameters?.route === undefined ? undefined : el('p', {}, `Route: ${response.parameters.route}`),
      el('table', { class: 'figures', 'data-field': 'trace' },
        el('caption', {}, 'Per-node trace'),
        el('thead', {}, el('tr', {}, ...['Node', 'Type', 'Status', 'Start ms', 'Duration ms'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...trace.map((t) => el('tr', { 'data-node': t.node }, el('td', {}, t.node), el('td', {}, t.type), el('td', {}, t.status), el('td', { class: 'num' }, fmt(t.startMs, 3)), el('td', { class: 'num' }, fmt(t.durationMs, 3))))),
      ),
    );
  } catch (err) {
    result.replaceChildren(el('p', { class: 'error', role: 'alert' }, err.message));
  }
}
