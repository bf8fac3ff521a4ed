#!/usr/bin/env node
// Mutation testing of the machines: proof that the model-based tests (tests/model) can fail.
// For each machine in machines/, the mutants below (a transition target flipped, a guard negated or
// altered, an action or assignment dropped or altered) are applied one at a time to a temporary
// copy of the repository (never to this tree: others run tests here), the model tests run there,
// and a table says, per mutant, whether it was killed and by which test.
// Exits 1 when a mutant survives, a search text is not found exactly once, or the tests fail
// without any mutant.
//
//   node scripts/mutate-machines.mjs               the committed tree (git archive HEAD)
//   node scripts/mutate-machines.mjs --worktree    the files as they are now in this tree
//   node scripts/mutate-machines.mjs --only producer   the mutants of one machine
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NEEDED = ['machines', 'src', 'tests/model', 'tests/unit/support', 'scripts/docs.ts', 'scripts/docs.mjs', 'package.json', 'tsconfig.json', 'vitest.config.ts'];

/** [machine file, what it breaks, search text (must occur once), replacement]. */
const MUTANTS = [
  ['deviceMachine', 'target: a finished load ends failed', "onDone: { target: 'loaded', actions: 'reportLoaded' }", "onDone: { target: 'failed', actions: 'reportLoaded' }"],
  ['deviceMachine', 'guard: sameCapabilities negated', 'sameCapabilities: ({ context, event }) => sameJson(', 'sameCapabilities: ({ context, event }) => !sameJson('],
  ['deviceMachine', 'action: a finished load is not reported', "onDone: { target: 'loaded', actions: 'reportLoaded' }", "onDone: { target: 'loaded' }"],
  ['deviceMachine', 'assignment: a load while loading keeps the old capabilities', "load: { target: 'loading', reenter: true, actions: 'assignCapabilities' }", "load: { target: 'loading', reenter: true }"],

  ['signalingMachine', 'target: an answered ping goes to closing', "onDone: 'waiting',", "onDone: '#signaling.connection.closing',"],
  ['signalingMachine', 'guard: isNotWelcome negated', "event.method !== 'welcome'", "event.method === 'welcome'"],
  ['signalingMachine', 'action: drop is not reported', "drop: { target: 'idle', actions: { type: 'reportClosed', params: { code: undefined, reason: 'dropped by the client' } } }", "drop: { target: 'idle' }"],
  ['signalingMachine', "action: a lost heartbeat is reported as the client's close", "reason: 'heartbeat lost'", "reason: 'client'"],

  ['transportMachine', 'target: a connected transport that is disconnected restarts ICE at once', "{ guard: 'isDisconnected', target: 'disconnected' }", "{ guard: 'isDisconnected', target: 'iceTrouble' }"],
  ['transportMachine', 'guard: canRestartIce allows one restart too many', 'context.iceRestarts < context.ice.maxIceRestarts', 'context.iceRestarts <= context.ice.maxIceRestarts'],
  ['transportMachine', 'assignment: restarts are not counted again from 0 once connected', 'entry: assign({ iceRestarts: 0 }),', ''],
  ['transportMachine', 'action: a created transport is not reported', "assign({ transportId: ({ event }) => event.output.transportId }), 'reportCreated'", 'assign({ transportId: ({ event }) => event.output.transportId })'],

  ['producerMachine', 'target: pause goes straight to paused', "on: { pause: { target: 'pausing', actions: 'wantPaused' } }", "on: { pause: { target: 'paused', actions: 'wantPaused' } }"],
  ['producerMachine', 'guard: wantsPaused negated', 'wantsPaused: ({ context }) => context.paused', 'wantsPaused: ({ context }) => !context.paused'],
  ['producerMachine', 'guard: isThisProducer matches any producer', "&& event.producerId === context.producerId", ''],
  ['producerMachine', 'assignment: a resumed producer stays paused on the server', "onDone: { target: 'settling', actions: [assign({ serverPaused: false }), emit({ type: 'resumed' })] }", "onDone: { target: 'settling', actions: [assign({ serverPaused: true }), emit({ type: 'resumed' })] }"],
  ['producerMachine', "action: 'paused' is not emitted", "onDone: { target: 'settling', actions: [assign({ serverPaused: true }), emit({ type: 'paused' })] }", "onDone: { target: 'settling', actions: [assign({ serverPaused: true })] }"],
  ['producerMachine', 'target: a suspended recording does not start again', "always: { guard: 'isProduced', target: 'starting' }", "always: { guard: 'isProduced', target: 'idle' }"],
  // Intents (issue 16)
  ['producerMachine', 'action: a pause does not stop the local producer at once', "entry: { type: 'stopSending', params: ({ context }) => ({ producerId: context.producerId }) },", ''],
  ['producerMachine', 'action: live does not send again', "entry: { type: 'startSending', params: ({ context }) => ({ producerId: context.producerId }) },", ''],
  ['producerMachine', 'guard: pauseUnapplied negated', 'pauseUnapplied: ({ context }) => context.paused && !context.serverPaused', 'pauseUnapplied: ({ context }) => !(context.paused && !context.serverPaused)'],
  ['producerMachine', 'assignment: a production ignores the intent', 'entry: assign({ serverPaused: ({ context }) => context.paused }),', 'entry: assign({ serverPaused: false }),'],
  ['producerMachine', 'assignment: a refused pause keeps the intent', "onError: { target: 'settling', actions: assign({ paused: false, error:", "onError: { target: 'settling', actions: assign({ error:"],
  ['producerMachine', 'target: a startRecord while reconnecting is refused', "{ target: 'suspended', actions: 'wantRecording' }] } },", "{ target: 'idle', actions: 'wantRecording' }] } },"],
  ['producerMachine', 'guard: a stopRecord during the start is forgotten', "{ guard: 'recordingUnwanted', target: 'stopping',", "{ guard: 'recordingUnwanted', target: 'recording',"],
  ['producerMachine', 'target: a lost connection forgets the recording intent', "suspend: [{ guard: 'recordingWanted', target: '.suspended' }, { target: '.idle' }],", "suspend: [{ guard: 'recordingWanted', target: '.idle' }, { target: '.idle' }],"],
  ['producerMachine', 'action: the recording a lost stopRecord answer stops is not kept', "{ target: 'idle', actions: 'cutSegment' },", "{ target: 'idle' },"],
  ['producerMachine', 'action: the segment a lost connection cuts is not kept', "suspend: { target: 'suspended', actions: 'cutSegment' } },", "suspend: { target: 'suspended' } },"],
  ['producerMachine', 'target: a startRecord during a stop is forgotten', "{ guard: 'recordingWanted', target: 'starting', actions: [", "{ guard: 'recordingWanted', target: 'idle', actions: ["],

  ['consumerMachine', 'target: a consumed track starts paused', "initial: 'starting',", "initial: 'paused',"],
  ['consumerMachine', 'target: a refused start leaves the track live', "target: '#consumer.closed',", "target: 'live',"],
  ['consumerMachine', 'target: a pause while starting is ignored', "on: { pause: { target: 'pausing', actions: assign({ error: undefined }) } },\n            },\n            live: {", "on: {},\n            },\n            live: {"],
  // consumerMachine has no guard: the nearest is a condition on a transition, here one that never holds
  ['consumerMachine', 'guard: pause guarded by a condition that never holds', "live: {\n              tags: 'live',\n              on: { pause: { target: 'pausing'", "live: {\n              tags: 'live',\n              on: { pause: { guard: () => false, target: 'pausing'"],
  ['consumerMachine', 'assignment: a resumed consumer stays paused', "onDone: { target: 'live', actions: [assign({ paused: false }), emit({ type: 'resumed' })] }", "onDone: { target: 'live', actions: [assign({ paused: true }), emit({ type: 'resumed' })] }"],
  ['consumerMachine', "action: 'producerPaused' is not emitted", "producerPaused: { actions: [assign({ producerPaused: true }), emit({ type: 'producerPaused' })] }", 'producerPaused: { actions: [assign({ producerPaused: true })] }'],

  ['clientMachine', 'target: a loaded device skips join', "'device.loaded': { target: 'joining' }", "'device.loaded': { target: 'ready' }"],
  ['clientMachine', 'guard: attemptsExhausted allows one attempt more', 'context.attempt >= context.maxAttempts', 'context.attempt > context.maxAttempts'],
  ['clientMachine', 'action: a new send transport does not produce the waiting tracks', "{ guard: 'isSendTransport', actions: ['assignTransportReady', 'produceAll'] }", "{ guard: 'isSendTransport', actions: ['assignTransportReady'] }"],
  // Pipelining (issue 19)
  ['clientMachine', 'target: joining does not send listen', "deciding: { always: [{ guard: 'isListening', target: 'requesting' }, { target: 'done' }] }", "deciding: { always: [{ target: 'done' }] }"],
  ['clientMachine', 'guard: a listen answered while joining is asked again', "{ guard: 'isSubscribed', target: 'subscribed' },", ''],
  ['clientMachine', 'action: a track given with the send transport there waits for the next connection', "{ guard: and(['isNewProducer', 'sendTransportReady']), actions: ['spawnProducer', 'produceNewProducer'] },", ''],
  ['clientMachine', 'target: joining skips join', "join: {\n          initial: 'requesting',", "join: {\n          initial: 'joined',"],
  ['clientMachine', 'guard: isNewConsumer ignores listening', "isNewConsumer: ({ context, event }) => context.listening && offeredConsumers(event)", "isNewConsumer: ({ context, event }) => offeredConsumers(event)"],
  ['clientMachine', 'assignment: 4001 closes as expired', "params: { reason: 'unauthorized' }", "params: { reason: 'expired' }"],
  ['clientMachine', 'target: an answered listen listens again', "onDone: '#client.running.connected.subscribed'", "onDone: '#client.running.connected.idle'"],
  // Node rotation (issue 15)
  ['clientMachine', 'action: a failed reconnection attempt tries the same node again', "onSignalingClosed('#client.running.reconnecting.backingOff', ['tryNextNode'])", "onSignalingClosed('#client.running.reconnecting.backingOff', [])"],
  ['clientMachine', 'action: a welcome does not learn the other nodes', "actions: ['assignWelcome', 'learnNodes']", "actions: ['assignWelcome']"],
  ['clientMachine', 'action: a connection lost once connected skips its own node', "onSignalingClosed('#client.running.reconnecting', [])", "onSignalingClosed('#client.running.reconnecting', ['tryNextNode'])"],
  ['clientMachine', 'guard: 1013 taken as a refusal', 'event.code === CloseCode.UNAUTHORIZED,', '(event.code === CloseCode.UNAUTHORIZED || event.code === CloseCode.TRY_AGAIN_LATER),'],
  ['signalingMachine', 'assignment: connect forgets the node it was given', "connect: { target: 'connection', actions: assign({ url: ({ event }) => event.url }) },", "connect: { target: 'connection' },"],
];

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const fromWorktree = args.includes('--worktree');
const mutants = MUTANTS.filter(([file]) => !only || file.startsWith(only));

/** A copy of what the model tests need, with this tree's node_modules. */
function makeCopy() {
  const dir = mkdtempSync(join(tmpdir(), 'mut-'));
  if (fromWorktree) {
    for (const path of NEEDED) if (existsSync(join(root, path))) cpSync(join(root, path), join(dir, path), { recursive: true });
  } else {
    const tar = execFileSync('git', ['archive', 'HEAD', ...NEEDED.filter((p) => existsSync(join(root, p)))], { cwd: root, maxBuffer: 1 << 28 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** A mutant can make the client loop forever (it never yields to a timer): such a run is stopped, with its workers. */
const RUN_LIMIT_MS = 180_000;

/** Runs the model tests in `dir`; returns the failed tests (name and first line of the failure). */
async function runModelTests(dir) {
  const report = join(dir, 'report.json');
  rmSync(report, { force: true });
  const child = spawn('npx', ['vitest', 'run', 'tests/model', '--reporter=json', `--outputFile=${report}`], {
    cwd: dir,
    env: { ...process.env, CI: '1' },
    stdio: 'ignore',
    detached: true, // its own process group: the workers are stopped with it
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    process.kill(-child.pid, 'SIGKILL');
  }, RUN_LIMIT_MS);
  await new Promise((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (timedOut) return [{ name: `(timeout: the model tests did not end in ${RUN_LIMIT_MS / 1000} s)`, message: 'the run never ended: the implementation loops' }];
  if (!existsSync(report)) return [{ name: '(vitest did not run)', message: '' }];
  const json = JSON.parse(readFileSync(report, 'utf8'));
  const failed = [];
  for (const file of json.testResults) {
    if (file.status === 'failed' && file.assertionResults.length === 0) failed.push({ name: file.name.replace(`${dir}/`, ''), message: (file.message ?? '').split('\n')[0] });
    for (const t of file.assertionResults) {
      if (t.status === 'failed') failed.push({ name: `${basename(file.name)} › ${t.title.split(':')[0]}`, message: (t.failureMessages[0] ?? '').split('\n').slice(0, 2).join(' ').slice(0, 160) });
    }
  }
  // an error outside any test (a throw in a socket callback) fails the run too
  if (!json.success && failed.length === 0) failed.push({ name: '(an error outside the tests)', message: 'vitest reported the run failed' });
  return failed;
}

const dir = makeCopy();
let exitCode = 0;
const rows = [];
try {
  const baseline = await runModelTests(dir);
  if (baseline.length) {
    console.error('The model tests fail without any mutant:', baseline);
    process.exit(1);
  }
  for (const [machine, what, search, replacement] of mutants) {
    const file = join(dir, 'machines', `${machine}.ts`);
    const original = readFileSync(file, 'utf8');
    const count = original.split(search).length - 1;
    if (count !== 1) {
      rows.push({ machine, mutant: what, result: `SEARCH TEXT FOUND ${count} TIMES`, caughtBy: '' });
      exitCode = 1;
      continue;
    }
    writeFileSync(file, original.replace(search, replacement));
    const started = Date.now();
    const failed = await runModelTests(dir);
    writeFileSync(file, original);
    const killed = failed.length > 0;
    if (!killed) exitCode = 1;
    rows.push({
      machine,
      mutant: what,
      result: killed ? 'killed' : 'SURVIVED',
      caughtBy: [...new Set(failed.map((f) => f.name))].join(', '),
      first: failed[0]?.message ?? '',
      seconds: Math.round((Date.now() - started) / 1000),
    });
    process.stderr.write(`${killed ? 'killed  ' : 'SURVIVED'} ${machine}: ${what}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const table = [['machine', 'mutant', 'result', 'caught by']].concat(rows.map((r) => [r.machine, r.mutant, r.result, r.caughtBy]));
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
console.log('\nMutants of the machines against the model tests (tests/model):\n');
for (const [i, row] of table.entries()) {
  console.log(row.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd());
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log('\nFirst failure per mutant:');
for (const r of rows) if (r.first) console.log(`  ${r.machine}: ${r.mutant}\n    ${r.first}`);
const killed = rows.filter((r) => r.result === 'killed').length;
console.log(`\n${killed}/${rows.length} mutants killed${exitCode ? ' — NOT ALL: see above' : ''}`);
process.exit(exitCode);
