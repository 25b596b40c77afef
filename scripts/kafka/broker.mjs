// A real single-node Apache Kafka broker (KRaft) for development and tests, no Docker:
//   node scripts/kafka/broker.mjs start   fetch Kafka from Maven Central (once), format, start, wait
//   node scripts/kafka/broker.mjs stop    stop the broker this script started
// Prints the bootstrap address. Everything lives in .cache/kafka (git-ignored).
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const cache = path.join(root, '.cache', 'kafka');
const libs = path.join(cache, 'libs');
const data = path.join(cache, 'data');
const pidFile = path.join(cache, 'broker.pid');
const port = Number(process.env.KAFKA_PORT ?? 19092);
const controllerPort = port + 1;
const address = `127.0.0.1:${port}`;
const log = (m) => console.error(`[kafka] ${m}`);

function fetchKafka() {
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) return;
  log('fetching Apache Kafka 3.9.1 from Maven Central (once)…');
  mkdirSync(cache, { recursive: true });
  execFileSync('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', path.join(here, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`], { stdio: ['ignore', 2, 2] });
}

function properties() {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${address}`,
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

function reachable() {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function start() {
  if (await reachable()) {
    log(`a broker already listens on ${address}`);
    console.log(address);
    return;
  }
  fetchKafka();
  const config = path.join(cache, 'server.properties');
  writeFileSync(config, properties());
  rmSync(data, { recursive: true, force: true });
  const classpath = `${libs}/*`;
  execFileSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', randomUUID().replace(/-/g, '').slice(0, 22), '-c', config, '--ignore-formatted'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const out = openSync(path.join(cache, 'broker.log'), 'w');
  const child = spawn('java', ['-Xmx512m', '-cp', classpath, `-Dlog4j.configuration=file:${path.join(here, 'log4j.properties')}`, 'kafka.Kafka', config], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  log(`starting broker (pid ${child.pid}) on ${address}…`);
  const deadline = Date.now() + 60_000;
  while (!(await reachable())) {
    if (Date.now() > deadline) throw new Error(`broker did not listen on ${address} within 60 s; see ${path.join(cache, 'broker.log')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  log('broker ready');
  console.log(address);
}

function stop() {
  if (!existsSync(pidFile)) return log('no broker started by this script');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
    log(`stopped broker (pid ${pid})`);
  } catch {
    log(`broker (pid ${pid}) was not running`);
  }
  rmSync(pidFile, { force: true });
}

const command = process.argv[2];
if (command === 'start') await start();
else if (command === 'stop') stop();
else {
  console.error('usage: node scripts/kafka/broker.mjs start|stop');
  process.exit(2);
}
