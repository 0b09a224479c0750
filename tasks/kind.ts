/**
 * Recipes for the k8s formation's local cluster (bm itself never creates or deletes clusters):
 *
 *   npm run kind:up      kind create cluster --name botminter (skipped when it exists)
 *   npm run kind:down    kind delete cluster --name botminter
 *   npm run kind:load    docker build formations/k8s/image as bm-member:dev, kind load it
 *   npm run test:kind    the kind test suite (BM_KIND_TESTS=1; makes its own throwaway clusters)
 *
 * BM_KIND_CLUSTER (default `botminter`, i.e. context `kind-botminter`) and BM_MEMBER_IMAGE
 * (default `bm-member:dev`) match formations/k8s/formation.yml; change both together.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import process from 'node:process';
import { $, which } from 'zx/core';

const ROOT = path.resolve(import.meta.dirname, '..');
const cluster = process.env.BM_KIND_CLUSTER || 'botminter';
const image = process.env.BM_MEMBER_IMAGE || 'bm-member:dev';
$.verbose = true;

async function need(tool: string, install: string): Promise<void> {
  if (await which(tool, { nothrow: true })) return;
  console.error(`Error: '${tool}' not found in PATH. ${install}`);
  process.exit(1);
}

async function clusterExists(): Promise<boolean> {
  // `kind get clusters` prints names on stdout and "No kind clusters found." on stderr.
  const clusters = await $({ quiet: true })`kind get clusters`;
  return clusters.stdout.split('\n').includes(cluster);
}

async function up(): Promise<void> {
  await need('kind', 'Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation');
  await need('docker', 'Install Docker and start its daemon.');
  if (await clusterExists()) {
    console.error(`Cluster '${cluster}' already exists (context kind-${cluster}).`);
    return;
  }
  await $`kind create cluster --name ${cluster} --wait 120s`;
  console.error(`Cluster '${cluster}' is up: context kind-${cluster}. Next: npm run kind:load`);
}

async function down(): Promise<void> {
  await need('kind', 'Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation');
  await $`kind delete cluster --name ${cluster}`;
}

async function load(): Promise<void> {
  await need('docker', 'Install Docker and start its daemon.');
  await need('kind', 'Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation');
  if (!(await clusterExists())) {
    console.error(`Error: no kind cluster '${cluster}'. Run \`npm run kind:up\` first.`);
    process.exit(1);
  }
  await $`docker build -t ${image} ${path.join(ROOT, 'formations', 'k8s', 'image')}`;
  await $`kind load docker-image ${image} --name ${cluster}`;
  console.error(`Loaded ${image} into cluster '${cluster}'.`);
}

function testKind(): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tasks', 'test.ts'), 'kind/'], {
      cwd: ROOT,
      env: { ...process.env, BM_KIND_TESTS: '1' },
      stdio: 'inherit',
    });
    child.on('close', (code) => {
      process.exitCode = code ?? 1;
      resolve();
    });
  });
}

const RECIPES: Record<string, () => Promise<void>> = { up, down, load, test: testKind };
const recipe = RECIPES[process.argv[2] ?? ''];
if (!recipe) {
  console.error(`Usage: node --import tsx tasks/kind.ts ${Object.keys(RECIPES).join('|')}`);
  process.exit(2);
}
await recipe();
