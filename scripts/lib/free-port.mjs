// Loopback ports for processes that bind some time after the port is picked: a worker or controller a test
// starts, a standby that binds its control port only when it leads, a broker or etcd whose JVM/Go start-up
// takes seconds, a process restarted on the port it had. Listening on port 0 and closing again hands out a
// port from the kernel's ephemeral range, where every other process's listen(0) and outgoing connection
// picks too, so another test file running beside this one could take it in the gap. These picks come from
// below that range instead, and when scripts/run-tests.mjs runs test files side by side each file's lane
// (INFERGRAPH_TEST_LANE of INFERGRAPH_TEST_LANE_COUNT, set by scripts/test-lane.mjs) has a block of its own.
import { readFileSync } from 'node:fs';
import net from 'node:net';

const LOWEST = 20_000;
const DEFAULT_EPHEMERAL_START = 32_768;

let ephemeralStartRead;

/** The first port of the kernel's ephemeral range (Linux; read once), else the IANA default. */
function ephemeralStart() {
  ephemeralStartRead ??= readEphemeralStart();
  return ephemeralStartRead;
}

function readEphemeralStart() {
  try {
    const first = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0] ?? '', 10);
    return Number.isInteger(first) && first > 1024 ? first : DEFAULT_EPHEMERAL_START;
  } catch {
    return DEFAULT_EPHEMERAL_START;
  }
}

/**
 * The ports this process picks from, `[first, end)`: this lane's share of the ports between 20000 and the
 * ephemeral range, or the whole of it outside a lane. Undefined when the ephemeral range starts too low to
 * leave room (a tuned machine): then the kernel picks, as before.
 */
export function portRange(env = process.env) {
  const end = Math.min(ephemeralStart(), 65_536);
  if (end - LOWEST < 1_000) return undefined;
  const lane = Number(env.INFERGRAPH_TEST_LANE);
  const lanes = Number(env.INFERGRAPH_TEST_LANE_COUNT);
  if (!Number.isInteger(lanes) || lanes < 2 || !Number.isInteger(lane) || lane < 0 || lane >= lanes) return [LOWEST, end];
  const size = Math.floor((end - LOWEST) / lanes);
  return [LOWEST + lane * size, LOWEST + (lane + 1) * size];
}

/** Whether `port` can be bound on loopback right now. */
function canBind(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the kernel picks (the fallback when there is no range of our own). */
function kernelPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// Ports handed out by this process: not handed out twice while others in the range are left, even when the
// first holder has not bound its port yet.
const handedOut = new Set();

/**
 * A base port with every `base + offset` free now and none handed out before by this process (for scripts
 * that derive ports from one, such as `npm run start:cluster`'s CONTROL_PORT).
 * @param {readonly number[]} offsets
 */
export async function freePortBlock(offsets) {
  const range = portRange();
  if (range === undefined) {
    if (offsets.length !== 1 || offsets[0] !== 0) throw new Error('free-port: no port range below the ephemeral range for a block of ports');
    return kernelPort();
  }
  const [first, end] = range;
  const span = Math.max(0, ...offsets);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = first + Math.floor(Math.random() * (end - first - span));
    const ports = offsets.map((o) => base + o);
    if (ports.some((p) => handedOut.has(p))) continue;
    const free = await Promise.all(ports.map(canBind));
    if (!free.every(Boolean)) continue;
    for (const p of ports) handedOut.add(p);
    return base;
  }
  throw new Error(`free-port: no free block of ports at offsets ${offsets.join(', ')} in ${first}–${end - 1}`);
}

/** One free loopback port. */
export function freePort() {
  return freePortBlock([0]);
}

/** `count` different free loopback ports. */
export async function freePorts(count) {
  const ports = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  return ports;
}
