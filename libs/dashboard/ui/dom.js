// Small DOM helpers shared by the dashboard's modules: elements built with textContent only (never HTML
// strings), so nothing a graph or a response contains can become markup.
const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

/** An SVG element with attributes and children. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== false) node.setAttribute(k, v === true ? '' : String(v));
}

/** GET (or POST) JSON from this origin; throws with the server's message on a non-2xx answer. */
export async function fetchJson(url, init = {}) {
  const res = await fetch(url, { credentials: 'same-origin', ...init });
  const text = await res.text();
  let body;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (!res.ok) {
    const message = typeof body === 'object' && body !== null ? (body.error ?? body.message ?? JSON.stringify(body)) : String(body);
    throw new Error(`${res.status}: ${message}`);
  }
  return body;
}

/** A number for display: `—` when absent. */
export function fmt(value, digits = 1) {
  return value === undefined || value === null || Number.isNaN(value) ? '—' : Number(value).toFixed(digits);
}
