// The API reference in docs/api/ is what TypeDoc makes of the TSDoc now: regenerated here, it must
// equal what is committed (`npm run docs` updates it), and it must cover the public entry.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_DOCS_DIR, generateApiDocs, readTree, staleApiDocs } from '../../scripts/apiDocs.mjs';
import * as client from '../../src/client/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('API reference (docs/api)', () => {
  const out = mkdtempSync(join(tmpdir(), 'media-infra-api-docs-'));
  let generated: Record<string, string>;

  beforeAll(async () => {
    await generateApiDocs(out);
    generated = readTree(out);
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('is up to date (run `npm run docs` when this fails)', () => {
    expect(staleApiDocs(generated, readTree(join(root, API_DOCS_DIR))), 'stale API reference: run `npm run docs`').toEqual([]);
  });

  it('has a page for every value the package exports', () => {
    const index = generated['README.md']!;
    for (const name of Object.keys(client)) expect(index, `docs/api/README.md does not list ${name}`).toContain(`[${name}]`);
  });
});
