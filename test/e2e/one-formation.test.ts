/**
 * One record, one active formation: a team deployed to k8s (kube-sim, real kubectl) is not also
 * started locally, nor run by the daemon; `--yes` switches formations by tearing the active one
 * down first. Ends with the sandbox's orphan check.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startKubeSim, type KubeSim } from '../support/kube-sim/index.ts';
import { kubectlTest } from '../support/kube-sim/kubectl.ts';
import { eventually, k8sWorld, simCluster, topologyOf, type K8sWorld } from '../support/k8s-scenarios.ts';

let sim: KubeSim | undefined;
let world: K8sWorld | undefined;
const withKubectl = await kubectlTest(test, 'one active formation');

test.after.each(async () => {
  await world?.bm(['stop']);
  await world?.cleanup();
  await sim?.stop();
  world = undefined;
  sim = undefined;
});

withKubectl('a k8s-deployed team: local start and the daemon are refused; --yes switches to local', async () => {
  sim = await startKubeSim({ timeScale: 0.05 });
  const w = (world = await k8sWorld(simCluster(sim), ['dev:alice']));
  await w.sandbox.ok(['teams', 'sync']);
  const stubLog = path.join(w.sandbox.dir, 'stub-calls.jsonl');
  const env = { BM_STUB_LOG: stubLog, STUB_RALPH_MODE: 'persistent', BM_START_CHECK_MS: '300' };
  const deployed = await w.bm(['start', '--formation', 'k8s'], env);
  assert.is(deployed.code, 0, deployed.stderr);
  assert.is((await w.pods()).size, 1);

  const local = await w.bm(['start'], env);
  assert.is(local.code, 1, local.stderr);
  assert.match(local.stderr, /Error: Team 'alpha' runs on formation 'k8s' \(1 member\(s\)\); a team runs on one formation at a time/);
  assert.match(local.stderr, /`bm stop -t alpha` then `bm start -t alpha`, or `bm start --yes`/);
  assert.not.ok(existsSync(stubLog), 'no local ralph was started');
  assert.is(topologyOf(w).formation, 'k8s', 'the record still says k8s');

  const daemon = await w.bm(['daemon', 'start', '--port', '0']);
  assert.is(daemon.code, 1, daemon.stderr);
  assert.match(daemon.stderr, /Error: Team 'alpha' runs persistently on formation 'k8s' \(1 member\(s\)\); the daemon would run them a second time here/);

  const switched = await w.bm(['start', '--yes'], env);
  assert.is(switched.code, 0, switched.stderr);
  assert.match(switched.stderr, /Stopping the team on formation 'k8s' before starting on 'local'/);
  await eventually('the pod is gone', async () => (await w.pods()).size === 0);
  assert.is(topologyOf(w).formation, 'local');
  const runs = readFileSync(stubLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[] }).filter((c) => c.argv[0] === 'run');
  assert.is(runs.length, 1, 'dev-alice runs locally');

  const back = await w.bm(['start', '--formation', 'k8s'], env);
  assert.is(back.code, 1);
  assert.match(back.stderr, /runs on formation 'local' \(1 member\(s\)\)/);
  assert.match(back.stderr, /`bm start --formation k8s --yes`/);
  const stopped = await w.bm(['stop']);
  assert.is(stopped.code, 0, stopped.stderr);
});

test.run();
