// `npm run pack:client`: builds what is stale (build.mjs writes dist/client-package), packs the
// client package with `npm pack` into dist/, and prints the tarball's path as its last line.
// The tarball is packed aside and renamed into place, so a run beside another never reads half a file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_DIR } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
execFileSync(process.execPath, [join(root, 'build.mjs'), '--if-stale'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
const aside = mkdtempSync(join(root, 'dist', '.pack-'));
try {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // The directory the link names now: a rebuild meanwhile makes a new one and leaves this one be.
  const out = execFileSync(npm, ['pack', realpathSync(PACKAGE_DIR), '--pack-destination', aside, '--json', '--loglevel=error'], { cwd: root, encoding: 'utf8' });
  const [packed] = JSON.parse(out);
  const tarball = join(root, 'dist', packed.filename);
  renameSync(join(aside, packed.filename), tarball);
  console.log(`${packed.name}@${packed.version}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(1)} KB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KB unpacked`);
  console.log(tarball);
} finally {
  rmSync(aside, { recursive: true, force: true });
}
