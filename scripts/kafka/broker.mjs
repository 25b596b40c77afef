// A real single-node Apache Kafka broker (KRaft) for development and tests, no Docker:
//   node scripts/kafka/broker.mjs start               fetch Kafka from Maven Central (once), format, start on
//                                                      KAFKA_PORT (default 19092), wait; reuses one already there
//   node scripts/kafka/broker.mjs start --free-port   the same on two free ports (tests: never collides with a
//                                                      developer's broker on 19092; scripts/lib/free-port.mjs)
//   node scripts/kafka/broker.mjs stop [--port N]    stop the broker this script started on N (default KAFKA_PORT)
//   node scripts/kafka/broker.mjs resume --port N    start again a broker of this script that stopped or was killed
//                                                      on N, with its config and data as they are (fault tests)
// Prints the bootstrap address. The jars are fetched once per machine into $INFERGRAPH_CACHE_DIR (default
// ~/.cache/infergraph)/kafka-<pom hash>/libs, shared by every clone; each broker's state lives in the clone's
// .cache/kafka (git-ignored), a directory per broker (the default port keeps the top-level one, as before), so
// brokers run side by side.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../lib/free-port.mjs';
import { cacheRoot } from '../lib/cache-root.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const cache = path.join(root, '.cache', 'kafka');
// Named after the pom's content: a change of Kafka version fetches into a directory of its own.
const pom = path.join(here, 'pom.xml');
const libs = path.join(cacheRoot(), `kafka-${createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 12)}`, 'libs');
const DEFAULT_PORT = 19092;
const log = (m) => console.error(`[kafka] ${m}`);

/** Where one broker keeps its config, data, log and pid: the default port keeps the layout of earlier versions. */
function stateDir(port) {
  return port === DEFAULT_PORT ? cache : path.join(cache, 'brokers', String(port));
}

function option(name) {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

function fetchKafka() {
  if (existsSync(libs)) return;
  log(`fetching Apache Kafka 3.9.1 from Maven Central into ${libs} (once per machine)…`);
  // Into a directory of this process, then renamed: the libs directory is either whole or absent, and a
  // clone fetching beside another (two CI runs) keeps whichever finished first.
  const partial = `${libs}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(path.dirname(libs), { recursive: true });
  try {
    execFileSync('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${partial}`], { stdio: ['ignore', 2, 2] });
    if (!readdirSync(partial).some((f) => f.startsWith('kafka_2.13-'))) throw new Error(`mvn left no kafka_2.13 jar in ${partial}`);
    try {
      renameSync(partial, libs);
    } catch (err) {
      if (!existsSync(libs)) throw err; // another process renamed its copy first
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

function properties(port, controllerPort, data) {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${data}`,
    'num.partitions=3',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=3',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
  ].join('\n');
}

function reachable(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function start(freePortWanted) {
  if (!freePortWanted) {
    const port = Number(process.env.KAFKA_PORT ?? DEFAULT_PORT);
    await launch(port, port + 1);
    return;
  }
  // Picked ports can still be taken by another process before the broker binds them (a developer's server):
  // a broker that fails to bind is stopped, its state removed, and started again on new ports.
  for (let attempt = 1; ; attempt++) {
    const [port, controllerPort] = await freePorts(2);
    try {
      await launch(port, controllerPort);
      return;
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === 4) throw err;
      log(`${err.message}; trying other ports`);
      rmSync(stateDir(port), { recursive: true, force: true });
    }
  }
}

/** The broker could not bind one of its ports: someone else took it first. */
class PortTaken extends Error {}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function launch(port, controllerPort) {
  const address = `127.0.0.1:${port}`;
  if (await reachable(port)) {
    log(`a broker already listens on ${address}`);
    console.log(address);
    return;
  }
  fetchKafka();
  const dir = stateDir(port);
  const data = path.join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'server.properties');
  writeFileSync(config, properties(port, controllerPort, data));
  rmSync(data, { recursive: true, force: true });
  execFileSync('java', ['-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'format', '-t', randomUUID().replace(/-/g, '').slice(0, 22), '-c', config, '--ignore-formatted'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await run(dir, config, port, controllerPort, 'w');
}

/** Starts again, on its own config and data, a broker this script started on `port` that is not running now. */
async function resume(port) {
  const dir = stateDir(port);
  const config = path.join(dir, 'server.properties');
  if (!existsSync(config)) throw new Error(`no broker state for port ${port} in ${dir}: start one first`);
  if (await reachable(port)) {
    log(`a broker already listens on 127.0.0.1:${port}`);
    console.log(`127.0.0.1:${port}`);
    return;
  }
  const controllerPort = Number(/CONTROLLER:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(config, 'utf8'))?.[1]);
  await run(dir, config, port, controllerPort, 'a');
}

/** Runs the broker of `config` detached, records its pid, and waits until it listens. */
async function run(dir, config, port, controllerPort, logMode) {
  const address = `127.0.0.1:${port}`;
  const classpath = `${libs}/*`;
  const logFile = path.join(dir, 'broker.log');
  // Only this run's lines count when looking for a failed bind (a resumed broker appends to its old log).
  const logFrom = logMode === 'a' && existsSync(logFile) ? statSync(logFile).size : 0;
  const out = openSync(logFile, logMode);
  const child = spawn('java', ['-Xmx512m', '-cp', classpath, `-Dlog4j.configuration=file:${path.join(here, 'log4j.properties')}`, 'kafka.Kafka', config], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  writeFileSync(path.join(dir, 'broker.pid'), String(child.pid));
  log(`starting broker (pid ${child.pid}) on ${address}…`);
  const deadline = Date.now() + 60_000;
  while (!(await reachable(port))) {
    const text = existsSync(logFile) ? readFileSync(logFile).subarray(logFrom).toString('utf8') : '';
    if (/Address already in use/.test(text)) {
      if (alive(child.pid)) process.kill(child.pid, 'SIGKILL');
      throw new PortTaken(`broker on ${address} (controller port ${controllerPort}) could not bind: a port was taken`);
    }
    if (!alive(child.pid)) throw new Error(`broker (pid ${child.pid}) exited before listening on ${address}; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`broker did not listen on ${address} within 60 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  log('broker ready');
  console.log(address);
}

async function stop(port) {
  const dir = stateDir(port);
  const pidFile = path.join(dir, 'broker.pid');
  if (!existsSync(pidFile)) return log(`no broker started by this script on port ${port}`);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
    log(`stopped broker (pid ${pid}) on port ${port}`);
  } catch {
    log(`broker (pid ${pid}) was not running`);
  }
  rmSync(pidFile, { force: true });
  if (port === DEFAULT_PORT) return;
  // A broker on a picked port is throwaway: wait for it to let go of its files, then remove its state.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(dir, { recursive: true, force: true });
}

const command = process.argv[2];
if (command === 'start') await start(process.argv.includes('--free-port'));
else if (command === 'stop') await stop(Number(option('--port') ?? process.env.KAFKA_PORT ?? DEFAULT_PORT));
else if (command === 'resume' && option('--port') !== undefined) await resume(Number(option('--port')));
else {
  console.error('usage: node scripts/kafka/broker.mjs start [--free-port] | stop [--port N] | resume --port N');
  process.exit(2);
}
