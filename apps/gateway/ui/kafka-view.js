// Kafka streaming state from /v1/kafka: the graph stream's in-flight records, pauses and consumer lag per
// partition (shown only when the gateway has KAFKA_BROKERS).
import { el } from './dom.js';

const PERIOD_MS = 2000;

export function watchKafka(container) {
  const refresh = async () => {
    const res = await fetch('/v1/kafka', { credentials: 'same-origin' });
    if (!res.ok) return;
    const status = await res.json();
    if (status.brokers.length === 0) return;
    const stream = status.stream;
    container.replaceChildren(
      el('h3', {}, 'Kafka'),
      stream === null
        ? el('p', { class: 'muted' }, `Brokers ${status.brokers.join(', ')}; no graph streams from topics.`)
        : el('div', {},
          el('p', {}, `Group ${stream.groupId}: ${stream.inFlight} in flight (peak ${stream.peakInFlight} of ${stream.maxInFlight}), ${stream.handled} handled, ${stream.pauses} pauses${stream.paused ? ', paused now' : ''}`),
          el('table', { class: 'figures', 'data-field': 'kafka-lag' },
            el('caption', {}, 'Consumer lag per partition (records behind the end)'),
            el('thead', {}, el('tr', {}, ...['Topic', 'Partition', 'Lag'].map((h) => el('th', { scope: 'col' }, h)))),
            el('tbody', {}, ...stream.lag.map((l) => el('tr', { 'data-topic': l.topic, 'data-partition': l.partition }, el('td', {}, l.topic), el('td', { class: 'num' }, String(l.partition)), el('td', { class: 'num' }, String(l.lag))))),
          ),
        ),
      status.nodeCalls === null ? undefined : el('p', {}, `Node calls over Kafka pending: ${status.nodeCalls.pending}`),
    );
  };
  void refresh().catch(() => undefined);
  setInterval(() => void refresh().catch(() => undefined), PERIOD_MS);
}
