// The API reference of the client package: TypeDoc (with typedoc-plugin-markdown) reads the TSDoc
// of what src/client/index.ts exports and writes Markdown pages. `npm run docs` (scripts/docs.mjs)
// writes them into docs/api/ and `--check` compares; tests/build/apiReference.test.ts does the same.
// Markdown, not HTML: readable where the code is, diffs line by line, and shipped in the package.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const API_DOCS_DIR = 'docs/api';

/**
 * TypeDoc's options. No source links (they carry the commit and line numbers, so every commit would
 * make the pages stale); type errors are `npm run typecheck`'s business, not the reference's.
 */
export function typedocOptions(out, { listUndocumented = false } = {}) {
  return {
    entryPoints: [join(root, 'src', 'client', 'index.ts')],
    tsconfig: join(root, 'tsconfig.build.json'),
    plugin: ['typedoc-plugin-markdown'],
    out,
    name: '@media-infra/client',
    readme: 'none',
    disableSources: true,
    excludePrivate: true,
    excludeInternal: true,
    skipErrorChecking: true,
    hidePageHeader: true,
    hideBreadcrumbs: true,
    entryFileName: 'README.md',
    logLevel: listUndocumented ? 'Warn' : 'Error',
    validation: { notExported: false, invalidLink: true, notDocumented: listUndocumented },
  };
}

/** Runs TypeDoc into `out` (a directory it may wipe). */
export async function generateApiDocs(out, options) {
  const { Application } = await import('typedoc');
  const app = await Application.bootstrapWithPlugins(typedocOptions(out, options));
  const project = await app.convert();
  if (!project) throw new Error('TypeDoc could not convert src/client/index.ts');
  app.validate(project);
  await app.generateOutputs(project);
  if (app.logger.hasErrors()) throw new Error('TypeDoc reported errors');
}

/** Every file under `dir`, by its path relative to `dir` → its content. */
export function readTree(dir) {
  const files = {};
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  try {
    walk(dir);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  return files;
}

/** The paths (under docs/api) where `generated` and `committed` differ: changed, new or gone. */
export function staleApiDocs(generated, committed) {
  const paths = new Set([...Object.keys(generated), ...Object.keys(committed)]);
  return [...paths].filter((p) => generated[p] !== committed[p]).sort();
}
