/**
 * The k8s formation scenarios against a real, throwaway kind cluster and the real member image.
 * Runs only with BM_KIND_TESTS=1 (`npm run test:kind`); then a missing kind, docker (with a
 * running daemon) or kubectl 1.27+ FAILS the suite, saying what is missing: asking for it and
 * getting a skip would read as a pass.
 *
 * Each run builds formations/k8s/image (as `npm run kind:load` does; needs network access to
 * Docker Hub, Debian's mirrors and npm, or a warm build cache) and a test layer on top of it in
 * which `ralph` is the stub (test/support/stubs), so no paid agent runs. The stub holds the flock
 * on `.ralph/loop.lock` that the pod's probes look for, as the real ralph does. The cluster
 * `bm-test-<random>` has its own kubeconfig (the operator's ~/.kube/config is never touched) and
 * is deleted at the end, also on Ctrl-C. The pods clone the team repo from a `git daemon` on the
 * kind network's gateway (a path on this machine is out of their reach).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { promisify } from 'node:util';
import { test } from 'uvu';
import {
  driftScenario, healScenario, k8sWorld, lifecycleScenario, purgeScenario, type ClusterHarness, type K8sWorld,
} from '../support/k8s-scenarios.ts';
import { kubectlProblem } from '../support/kube-sim/kubectl.ts';
import { ROOT } from '../support/sandbox.ts';

const run = promisify(execFile);
/** The real member image, built from formations/k8s/image. */
const BASE_IMAGE = 'bm-member:kind-test';
/** The real image with the stub ralph in place of the real one. */
const IMAGE = 'bm-member:kind-test-stub';

/** What is missing to run the suite, or undefined when nothing is. */
async function preflight(): Promise<string | undefined> {
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

/** Builds the real member image, then the test layer: the stub ralph, holding the loop's flock, as `ralph`. */
async function buildImages(): Promise<void> {
  await run('docker', ['build', '-q', '-t', BASE_IMAGE, path.join(ROOT, 'formations', 'k8s', 'image')], { timeout: 1_200_000 });
  const context = mkdtempSync(path.join(os.tmpdir(), 'bm-stub-image-'));
  try {
    mkdirSync(path.join(context, 'stubs'));
    for (const file of ['ralph.mjs', 'common.mjs']) copyFileSync(path.join(ROOT, 'test', 'support', 'stubs', file), path.join(context, 'stubs', file));
    // ralph holds an exclusive flock on .ralph/loop.lock while its loop runs (the probes' sign of
    // life); the stub writes the file, and this wrapper holds the lock for it until it exits.
    writeFileSync(path.join(context, 'ralph'), [
      '#!/bin/sh',
      '[ "$1" = run ] || exec node /opt/stubs/ralph.mjs "$@"',
      'node /opt/stubs/ralph.mjs "$@" &',
      'stub=$!',
      'trap \'kill -TERM $stub\' TERM INT',
      '(while [ ! -s .ralph/loop.lock ] && kill -0 $stub 2>/dev/null; do sleep 0.2; done',
      ' exec flock .ralph/loop.lock sh -c "while kill -0 $stub 2>/dev/null; do sleep 1; done") &',
      'wait $stub; code=$?',
      // A trapped signal ends the first wait early: wait again for the stub's own exit code.
      'kill -0 $stub 2>/dev/null && { wait $stub; code=$?; }',
      'exit $code',
      '',
    ].join('\n'), { mode: 0o755 });
    writeFileSync(path.join(context, 'Dockerfile'), [
      `FROM ${BASE_IMAGE}`,
      'USER root',
      'COPY stubs /opt/stubs',
      // Replaces the real ralph (a symlink in npm's global bin, which COPY would write through).
      'RUN rm -f /usr/local/bin/ralph',
      'COPY ralph /usr/local/bin/ralph',
      'ENV STUB_RALPH_MODE=persistent',
      'USER 10001:10001',
      '',
    ].join('\n'));
    await run('docker', ['build', '-q', '-t', IMAGE, context], { timeout: 300_000 });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** A free TCP port on this machine. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** The IPv4 gateway of the `kind` docker network: this machine, as the kind nodes reach it. */
async function kindGateway(): Promise<string> {
  const { stdout } = await run('docker', ['network', 'inspect', 'kind', '--format', '{{range .IPAM.Config}}{{.Gateway}} {{end}}']);
  const ip = stdout.split(/\s+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  if (!ip) throw new Error(`the kind network has no IPv4 gateway (${stdout.trim()})`);
  return ip;
}

/** A throwaway kind cluster with the stub image loaded. */
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
    async serveRepo(bare) {
      const [host, port] = [await kindGateway(), await freePort()];
      const daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', '--enable=receive-pack', `--base-path=${path.dirname(bare)}`, `--listen=${host}`, `--port=${port}`], { cwd: os.tmpdir(), stdio: 'ignore' });
      return { url: `git://${host}:${port}/${path.basename(bare)}`, stop: () => daemon.kill('SIGTERM') };
    },
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

if (!process.env.BM_KIND_TESTS) {
  test.skip('k8s formation on kind (BM_KIND_TESTS is not set; run `npm run test:kind`)', () => undefined);
} else {
  const missing = await preflight();
  if (missing) {
    test('k8s formation on kind: kind, docker and kubectl are there', () => {
      throw new Error(`BM_KIND_TESTS=1, but ${missing}. Install kind (https://kind.sigs.k8s.io), Docker with a running daemon and kubectl 1.27+, or unset BM_KIND_TESTS.`);
    });
  } else {
    let cluster: ClusterHarness | undefined;
    let world: K8sWorld | undefined;
    test.before(async () => {
      await buildImages();
      cluster = await kindCluster();
    });
    test.after.each(async () => {
      await world?.cleanup();
      world = undefined;
    });
    test.after(async () => {
      await cluster?.dispose();
    });
    const fresh = async (hires: string[]) => {
      if (!cluster) throw new Error('no cluster');
      world = await k8sWorld(cluster, hires);
      return world;
    };
    test('deploy, idempotent re-run, changed member, fired member, live status, logs, paused control plane, stop', async () => {
      await lifecycleScenario(await fresh(['dev:alice', 'qe:quinn', 'reviewer:rita']));
    });
    test('token rotation and drift repair', async () => {
      await driftScenario(await fresh(['dev:alice', 'qe:quinn']));
    });
    // Last: the purge leaves the namespace terminating for a while.
    test('a deleted pod is healed by its StatefulSet; logs; stop --purge', async () => {
      const w = await fresh(['dev:alice']);
      await healScenario(w);
      await purgeScenario(w);
    });
  }
}

test.run();
