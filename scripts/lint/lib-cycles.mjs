// The half of the layering rules ESLint cannot see file by file (docs/ARCHITECTURE.md, "Layers"):
//   - LAYERS in eslint.config.mjs has one row per folder under libs/ and apps/, names only libs it has
//     rows for, and permits no cycle;
//   - the libraries' sources, reading each other only through @infergraph/<lib>, form no cycle;
//   - no relative import leaves its lib or app (it would bypass both checks);
//   - the "may import" table of docs/ARCHITECTURE.md, where the tree has one, names the same libs, and its
//     layer diagram shows every folder of LAYERS, each above the libs it may import;
//   - the layout table of README.md, where the tree has one, has a row for every folder of LAYERS.
// Exits 1 naming every problem, each cycle as `a → b → a` with the file that makes each step.
//   node scripts/lint/lib-cycles.mjs [--root <dir>] [--config <file>]
// --root: the tree to check (default: this repository); --config: the module exporting LAYERS
// (default: <root>/eslint.config.mjs).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const SOURCE = /\.(?:[cm]?ts|[cm]?js)$/;
const ALIAS = /^@infergraph\/([^/]+)/;
/** The libs a LAYERS row lets its folder import, types-only ones included. */
const allowedLibs = (row) => [...(row.libs ?? []), ...(row.typeLibs ?? [])];

function parseArgs(argv) {
  const args = { root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'), config: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if ((flag === '--root' || flag === '--config') && value !== undefined) {
      args[flag.slice(2)] = path.resolve(value);
      i++;
    } else {
      throw new Error(`unknown argument "${flag}"; usage: lib-cycles.mjs [--root <dir>] [--config <file>]`);
    }
  }
  args.config ??= path.join(args.root, 'eslint.config.mjs');
  return args;
}

/** The folders directly under <root>/<tree> (libs or apps), as "libs/<name>". */
function foldersOf(root, tree) {
  const dir = path.join(root, tree);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `${tree}/${e.name}`)
    .sort();
}

function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sourceFiles(full));
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(full);
    }
  }
  return out.sort();
}

/** Every module specifier of a file: static, type-only, re-exports, dynamic import() and require(). */
function specifiersOf(file) {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/**
 * The cycles of a graph (Map<node, Map<target, evidence>>): one per strongly connected component with
 * more than one node or a self-edge, as the shortest way from its first node (by name) back to itself.
 */
function cyclesOf(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);

  const cycles = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0];
    if (component.length === 1 && !graph.get(start)?.has(start)) continue;
    // Breadth first from start, inside the component, until an edge leads back to start.
    const previous = new Map([[start, undefined]]);
    const queue = [start];
    let last;
    while (queue.length > 0 && last === undefined) {
      const v = queue.shift();
      for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
        if (w === start) {
          last = v;
          break;
        }
        if (members.has(w) && !previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const nodes = [start];
    for (let v = last; v !== start; v = previous.get(v)) nodes.splice(1, 0, v);
    nodes.push(start);
    cycles.push(nodes);
  }
  return cycles;
}

/**
 * The rows of the "| lib | owns | may import |" table of docs/ARCHITECTURE.md: folder → the lib names its
 * last cell mentions outside parentheses (where notes go). Undefined when the tree has no such file.
 */
function documentedLayers(file, libNames) {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const header = lines.findIndex((l) => /^\|\s*lib\s*\|\s*owns\s*\|\s*may import\s*\|/.test(l));
  if (header < 0) return new Map();
  const rows = new Map();
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const folder = cells[0].replace(/`/g, '');
    const mentioned = (cells.at(-1) ?? '').replace(/\([^()]*\)/g, '').match(/(?<![\w@/:.-])[a-z](?:[a-z-]*[a-z])?(?![\w/-])/g) ?? [];
    rows.set(folder.includes('/') ? folder : `libs/${folder}`, new Set(mentioned.filter((w) => libNames.has(w))));
  }
  return rows;
}

/**
 * The lib and app folders the layer diagram of docs/ARCHITECTURE.md shows, top to bottom: the first code
 * block under "## Layers", one folder per line that starts with it. Undefined when there is none.
 */
function diagramOrder(lines) {
  const heading = lines.findIndex((l) => /^##\s+Layers\b/.test(l));
  const open = heading < 0 ? -1 : lines.findIndex((l, i) => i > heading && l.startsWith('```'));
  if (open < 0) return undefined;
  const order = [];
  for (const line of lines.slice(open + 1)) {
    if (line.startsWith('```')) break;
    const folder = /^((?:libs|apps)\/[a-z0-9-]+)\s/.exec(line)?.[1];
    if (folder !== undefined) order.push(folder);
  }
  return order;
}

/** The folders of the "| folder | owns |" table of README.md; undefined when the file or the table is missing. */
function readmeFolders(file) {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const header = lines.findIndex((l) => /^\|\s*folder\s*\|\s*owns\s*\|/.test(l));
  if (header < 0) return undefined;
  const folders = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    folders.push(line.split('|')[1].trim().replace(/`/g, ''));
  }
  return folders;
}

function describeCycle(nodes, graph, label, verb) {
  const steps = nodes.slice(0, -1).map((v, i) => {
    const evidence = graph.get(v).get(nodes[i + 1]);
    return `    ${label(v)} ${verb} ${label(nodes[i + 1])}${evidence === undefined ? '' : ` (${evidence})`}`;
  });
  return [nodes.map(label).join(' → '), ...steps].join('\n');
}

/** One row per folder, rows naming only libs that have rows, and no cycle among the rows. */
function checkTable(LAYERS, folders, configName, problems) {
  for (const folder of folders) {
    if (!(folder in LAYERS)) problems.push(`${folder} has no row in LAYERS (${configName}): add what it may import, or ESLint checks nothing for it`);
  }
  for (const dir of Object.keys(LAYERS)) {
    if (!folders.includes(dir)) problems.push(`LAYERS (${configName}) has a row for ${dir}, which is not a folder under libs/ or apps/`);
  }
  const graph = new Map();
  for (const [dir, row] of Object.entries(LAYERS)) {
    const edges = new Map();
    for (const lib of allowedLibs(row)) {
      if (!(`libs/${lib}` in LAYERS)) problems.push(`LAYERS (${configName}): ${dir} may import "${lib}", which has no row`);
      edges.set(`libs/${lib}`, undefined);
    }
    graph.set(dir, edges);
  }
  for (const cycle of cyclesOf(graph)) {
    problems.push(`LAYERS (${configName}) permits a cycle: ${describeCycle(cycle, graph, (d) => d.replace(/^libs\//, ''), 'may import')}`);
  }
}

/** The "may import" table of docs/ARCHITECTURE.md names the same libs per row as LAYERS (when the tree has the file). */
function checkDocs(LAYERS, root, configName, problems) {
  const file = path.join(root, 'docs', 'ARCHITECTURE.md');
  const libNames = new Set(Object.keys(LAYERS).filter((d) => d.startsWith('libs/')).map((d) => d.slice('libs/'.length)));
  const documented = documentedLayers(file, libNames);
  if (documented === undefined) return;
  const docsName = path.relative(root, file);
  if (documented.size === 0) problems.push(`${docsName} has no "| lib | owns | may import |" table`);
  for (const [dir, row] of Object.entries(LAYERS)) {
    const says = documented.get(dir);
    if (says === undefined) {
      problems.push(`${docsName} has no row for ${dir} in its "may import" table`);
      continue;
    }
    const allowed = new Set(allowedLibs(row));
    const onlyDocs = [...says].filter((l) => !allowed.has(l));
    const onlyTable = [...allowed].filter((l) => !says.has(l));
    const differences = [...(onlyDocs.length > 0 ? [`only the docs name ${onlyDocs.join(', ')}`] : []), ...(onlyTable.length > 0 ? [`only LAYERS names ${onlyTable.join(', ')}`] : [])];
    if (differences.length > 0) problems.push(`${docsName} and LAYERS (${configName}) disagree on what ${dir} may import: ${differences.join('; ')}`);
  }
  for (const dir of documented.keys()) {
    if (!(dir in LAYERS)) problems.push(`${docsName} has a "may import" row for ${dir}, which LAYERS (${configName}) has not`);
  }
  checkDiagram(LAYERS, readFileSync(file, 'utf8').split('\n'), docsName, configName, problems);
}

/** The layer diagram shows every folder of LAYERS, and each above every lib it may import ("read top-down"). */
function checkDiagram(LAYERS, lines, docsName, configName, problems) {
  const order = diagramOrder(lines);
  if (order === undefined) {
    problems.push(`${docsName} has no layer diagram (a code block under "## Layers")`);
    return;
  }
  for (const dir of Object.keys(LAYERS)) {
    if (!order.includes(dir)) problems.push(`the layer diagram of ${docsName} does not show ${dir}`);
  }
  for (const dir of order) {
    if (!(dir in LAYERS)) problems.push(`the layer diagram of ${docsName} shows ${dir}, which LAYERS (${configName}) has no row for`);
  }
  for (const [dir, row] of Object.entries(LAYERS)) {
    const at = order.indexOf(dir);
    if (at < 0) continue;
    for (const lib of allowedLibs(row)) {
      const libAt = order.indexOf(`libs/${lib}`);
      if (libAt >= 0 && libAt < at) problems.push(`the layer diagram of ${docsName} shows libs/${lib} above ${dir}, which imports it; read top-down, a folder imports only what is below it`);
    }
  }
}

/** README.md's layout table has one row per folder of LAYERS (when the tree has that table). */
function checkReadme(LAYERS, root, configName, problems) {
  const folders = readmeFolders(path.join(root, 'README.md'));
  if (folders === undefined) return;
  for (const dir of Object.keys(LAYERS)) {
    if (!folders.includes(dir)) problems.push(`README.md's layout table ("| folder | owns |") has no row for ${dir}`);
  }
  for (const dir of folders) {
    if (!(dir in LAYERS)) problems.push(`README.md's layout table has a row for ${dir}, which LAYERS (${configName}) has not`);
  }
}

/** The libs' @infergraph imports form no cycle, and no relative import leaves its lib or app. */
function checkSources(root, folders, problems) {
  const graph = new Map(folders.filter((f) => f.startsWith('libs/')).map((f) => [f, new Map()]));
  for (const folder of folders) {
    const home = path.join(root, folder);
    for (const file of sourceFiles(home)) {
      const name = path.relative(root, file);
      for (const specifier of specifiersOf(file)) {
        const alias = ALIAS.exec(specifier);
        if (alias !== null && graph.has(folder)) {
          const edges = graph.get(folder);
          const target = `libs/${alias[1]}`;
          if (!edges.has(target)) edges.set(target, name);
        } else if (specifier.startsWith('.')) {
          const resolved = path.resolve(path.dirname(file), specifier);
          if (resolved !== home && !resolved.startsWith(home + path.sep)) {
            problems.push(`${name} imports "${specifier}", outside ${folder}: reach another lib through @infergraph/<lib>`);
          }
        }
      }
    }
  }
  for (const cycle of cyclesOf(graph)) {
    problems.push(`the libraries import each other in a cycle: ${describeCycle(cycle, graph, (d) => `@infergraph/${d.replace(/^libs\//, '')}`, 'imports')}`);
  }
}

async function main() {
  const { root, config } = parseArgs(process.argv.slice(2));
  const configName = path.relative(root, config).startsWith('..') ? config : path.relative(root, config);
  const { LAYERS } = await import(pathToFileURL(config).href);
  if (LAYERS === null || typeof LAYERS !== 'object') throw new Error(`${config} exports no LAYERS table`);

  const folders = [...foldersOf(root, 'libs'), ...foldersOf(root, 'apps')];
  const problems = [];
  checkTable(LAYERS, folders, configName, problems);
  checkDocs(LAYERS, root, configName, problems);
  checkReadme(LAYERS, root, configName, problems);
  checkSources(root, folders, problems);
  if (problems.length > 0) {
    console.error(`lib-cycles: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${root}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(`lib-cycles: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
