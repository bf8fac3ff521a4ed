// `npm run docs`: bundles scripts/docs.ts with esbuild (there is no TypeScript runner here), runs
// it, and writes every generated file. `--check` writes nothing and exits 1 when a file is stale;
// `--undocumented` lists the public members of the client that have no TSDoc.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { API_DOCS_DIR, generateApiDocs, readTree, staleApiDocs } from './apiDocs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const dir = mkdtempSync(join(tmpdir(), 'media-infra-docs-'));
try {
  const outfile = join(dir, 'docs.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['scripts/docs.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // xstate and valibot are bundled too: the temporary file must not resolve packages itself
    outfile,
    logLevel: 'warning',
  });
  const { generateDocs } = await import(pathToFileURL(outfile).href);
  const read = (p) => readFileSync(join(root, p), 'utf8');
  const files = generateDocs({ protocolMd: read('docs/protocol.md'), messagesTs: read('src/protocol/messages.ts'), requestsTs: read('src/protocol/requests.ts') });
  const stale = [];
  for (const [path, content] of Object.entries(files)) {
    let current;
    try {
      current = read(path);
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    stale.push(path);
    if (!check) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
  }
  // The API reference (scripts/apiDocs.mjs): generated aside, then compared file by file.
  const api = readTree(join(root, API_DOCS_DIR));
  // `--undocumented` also lists every public member without TSDoc (TypeDoc's warnings).
  await generateApiDocs(join(dir, 'api'), { listUndocumented: process.argv.includes('--undocumented') });
  const generatedApi = readTree(join(dir, 'api'));
  for (const path of staleApiDocs(generatedApi, api)) {
    stale.push(`${API_DOCS_DIR}/${path}`);
    if (check) continue;
    const target = join(root, API_DOCS_DIR, path);
    if (generatedApi[path] === undefined) rmSync(target);
    else {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, generatedApi[path]);
    }
  }
  if (check && stale.length) {
    console.error(`stale (run npm run docs): ${stale.join(', ')}`);
    process.exitCode = 1;
  } else {
    console.log(stale.length ? `${check ? 'stale' : 'wrote'}: ${stale.join(', ')}` : `docs are up to date (${Object.keys(files).length + Object.keys(generatedApi).length} files)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
