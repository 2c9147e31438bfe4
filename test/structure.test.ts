import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from './helpers/run-cli.js';

const SRC = join(ROOT, 'src');

/** Every file under src/ with the src/ files it imports (static and dynamic, relative imports only). */
function imports(): Map<string, string[]> {
  const files = (readdirSync(SRC, { recursive: true }) as string[]).filter((file) => file.endsWith('.ts'));
  return new Map(
    files.map((file) => {
      const text = readFileSync(join(SRC, file), 'utf8');
      const targets = [...text.matchAll(/(?:from |import\()\s*'(\.[^']+)'/g)].map((match) =>
        normalize(join(dirname(file), match[1]!)).replace(/\.js$/, '.ts'),
      );
      return [file, targets];
    }),
  );
}

/** The strongly connected groups of more than one node (Tarjan): each is a circle of imports. */
function circles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const group = stack.splice(stack.indexOf(node));
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** A file's folder under src/ (a file directly in src/ is its own). */
const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file);

describe('the import structure', () => {
  const graph = imports();

  test('no file imports itself back through others', () => {
    expect(circles(new Map([...graph].map(([file, targets]) => [file, new Set(targets)])))).toEqual([]);
  });

  test('no folder imports back from a folder that imports it: the folders form one pipeline, top to bottom', () => {
    const folders = new Map<string, Set<string>>();
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      for (const target of targets)
        if (folderOf(target) !== from)
          (folders.get(from) ?? folders.set(from, new Set()).get(from)!).add(folderOf(target));
    }
    expect(circles(folders)).toEqual([]);
  });

  test('every import names a file that exists', () => {
    const missing = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => !graph.has(target)).map((target) => `${file} -> ${relative(SRC, join(SRC, target))}`),
    );
    expect(missing).toEqual([]);
  });
});
