/**
 * The k8s formation scenarios against a real, throwaway kind cluster. Runs only with
 * BM_KIND_TESTS=1 (`npm run test:kind`), and skips with the reason when kind, docker (with a
 * running daemon) or kubectl 1.27+ is missing. Each run creates cluster `bm-test-<random>` with its own
 * kubeconfig (the operator's ~/.kube/config is never touched), builds and loads a stub member
 * image from test/support/stubs (needs `node:20-slim` locally or network access), and deletes
 * the cluster at the end, also on Ctrl-C.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import { k8sWorld, lifecycleScenario, type ClusterHarness, type K8sWorld } from '../support/k8s-scenarios.ts';
import { kubectlProblem } from '../support/kube-sim/kubectl.ts';
import { ROOT } from '../support/sandbox.ts';

const run = promisify(execFile);
const IMAGE = 'bm-ralph-stub:e2e';

/** Why the suite cannot run here, or undefined when it can. */
async function preflight(): Promise<string | undefined> {
  if (!process.env.BM_KIND_TESTS) return 'BM_KIND_TESTS is not set (run `npm run test:kind`)';
  for (const [tool, args, why] of [
    ['kind', ['version'], 'kind is not installed'],
    ['docker', ['info', '--format', '{{.ServerVersion}}'], 'docker is missing or its daemon is not running'],
  ] as const) {
    try {
      await run(tool, [...args], { timeout: 20_000 });
    } catch (error) {
      return `${why} (${tool} ${args.join(' ')}: ${(error as Error).message.split('\n')[0]})`;
    }
  }
  return kubectlProblem();
}

/** Builds the stub member image: the test stubs behind a `ralph` on PATH. */
async function buildStubImage(): Promise<void> {
  const context = mkdtempSync(path.join(os.tmpdir(), 'bm-stub-image-'));
  try {
    mkdirSync(path.join(context, 'stubs'));
    for (const file of ['ralph.mjs', 'common.mjs']) copyFileSync(path.join(ROOT, 'test', 'support', 'stubs', file), path.join(context, 'stubs', file));
    writeFileSync(path.join(context, 'ralph'), '#!/bin/sh\nexec node /opt/stubs/ralph.mjs "$@"\n', { mode: 0o755 });
    writeFileSync(path.join(context, 'Dockerfile'), [
      'FROM node:20-slim',
      'COPY stubs /opt/stubs',
      'COPY ralph /usr/local/bin/ralph',
      'WORKDIR /workspace',
      '',
    ].join('\n'));
    await run('docker', ['build', '-q', '-t', IMAGE, context], { timeout: 300_000 });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** A throwaway kind cluster. */
async function kindCluster(): Promise<ClusterHarness> {
  const name = `bm-test-${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bm-kind-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const teardown = () => {
    try {
      execFileSync('kind', ['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfig], { stdio: 'ignore', timeout: 120_000 });
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', teardown);
  process.once('SIGINT', () => {
    teardown();
    process.exit(130);
  });
  await run('kind', ['create', 'cluster', '--name', name, '--kubeconfig', kubeconfig, '--wait', '120s'], { timeout: 300_000 });
  await run('kind', ['load', 'docker-image', IMAGE, '--name', name], { timeout: 300_000 });
  const node = `${name}-control-plane`;
  return {
    kubeconfigPath: kubeconfig,
    context: `kind-${name}`,
    image: IMAGE,
    env: { KUBECONFIG: kubeconfig, KUBECACHEDIR: path.join(dir, 'kube-cache') },
    makeUnreachable: async () => {
      await run('docker', ['pause', node]);
    },
    restore: async () => {
      await run('docker', ['unpause', node]);
    },
    dispose: async () => {
      process.off('exit', teardown);
      teardown();
    },
  };
}

const skip = await preflight();
if (skip) {
  console.log(`kind suite skipped: ${skip}`);
  test.skip('k8s formation on kind', () => undefined);
} else {
  let cluster: ClusterHarness | undefined;
  let world: K8sWorld | undefined;
  test.before(async () => {
    await buildStubImage();
    cluster = await kindCluster();
  });
  test.after(async () => {
    await world?.cleanup();
    await cluster?.dispose();
  });
  test('deploy, idempotent re-run, changed member, fired member, live status, paused control plane, stop', async () => {
    if (!cluster) throw new Error('no cluster');
    world = await k8sWorld(cluster, ['dev:alice', 'qe:quinn', 'reviewer:rita']);
    await lifecycleScenario(world);
  });
}

test.run();
