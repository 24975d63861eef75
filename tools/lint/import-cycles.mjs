// An ESLint rule that refuses import cycles between the files of src/ (type-only imports included: a cycle
// of types still ties the two modules' designs together). The graph is read once per lint run from the
// files on disk (relative `import … from` / `export … from` / `import '…'`), its strongly connected
// components found (Tarjan), and every import of a file that leads back into its own component reported.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const IMPORT = /^\s*(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?'(\.[^']+)'/gm;

/** The module an import names, as a .ts path (ESM imports name the compiled .js). */
function target(fromFile, specifier) {
  return resolve(dirname(fromFile), specifier.replace(/\.js$/, '.ts'));
}

function sourceFiles(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** file → the index of its strongly connected component, for files in a component of two or more. */
function cyclicComponents() {
  const graph = new Map();
  for (const f of sourceFiles(SRC)) {
    graph.set(f, [...readFileSync(f, 'utf8').matchAll(IMPORT)].map((m) => target(f, m[1])));
  }
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const component = new Map();
  let components = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const members = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      members.push(w);
    } while (w !== v);
    if (members.length > 1) {
      for (const m of members) component.set(m, components);
      components++;
    }
  };
  for (const f of graph.keys()) if (!index.has(f)) visit(f);
  return component;
}

let cached;

export default {
  rules: {
    'no-cycle': {
      meta: {
        type: 'problem',
        docs: { description: 'Forbids import cycles between the files of src/.' },
        schema: [],
        messages: { cycle: "'{{target}}' imports this file back (directly or through others): an import cycle in src/." },
      },
      create(context) {
        const file = resolve(context.filename);
        if (!file.startsWith(SRC)) return {};
        cached ??= cyclicComponents();
        const mine = cached.get(file);
        if (mine === undefined) return {};
        const check = (node) => {
          const spec = node.source?.value;
          if (typeof spec !== 'string' || !spec.startsWith('.')) return;
          const to = target(file, spec);
          if (cached.get(to) === mine) context.report({ node: node.source, messageId: 'cycle', data: { target: relative(SRC, to) } });
        };
        return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
      },
    },
  },
};
