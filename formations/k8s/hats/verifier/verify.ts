/**
 * The verifier hat: waits (up to BM_K8S_VERIFY_TIMEOUT_MS, default 120 s) until every member's
 * pod runs the current template (config, credentials and image) and is Ready, and reports each
 * one that is not, with its reason. A pod that cannot recover on its own (ImagePullBackOff,
 * CreateContainerConfigError, CrashLoopBackOff, ...) fails the check at once.
 *
 *   node hats/verifier/verify.ts
 */
import path from 'node:path';
import process from 'node:process';
import { credentialsOf, deployment, desiredMembers, fail, itemsOf, podDrift, podHealth, podName, teamSelector } from '../../kube.ts';
import { failWith, kubectl } from '../../kubectl.ts';

const d = deployment(path.resolve(import.meta.dirname, '..', '..'));
const desired = desiredMembers(d, credentialsOf(process.env));
const deadline = Date.now() + Number(process.env.BM_K8S_VERIFY_TIMEOUT_MS ?? 120_000);

for (;;) {
  const got = await kubectl(d, ['get', 'pods', '-n', d.namespace, '-l', teamSelector(d), '-o', 'json']);
  if (got.exitCode !== 0) {
    if (Date.now() > deadline) failWith(d, got, `Could not read the pods of namespace ${d.namespace}`);
  } else {
    const pods = new Map(itemsOf(got.stdout).map((p) => [p.metadata.name, p]));
    const states = desired.map((want) => {
      const pod = pods.get(podName(want.member));
      if (!pod) return { member: want.member, state: 'starting' as const, reason: 'no pod yet' };
      const health = podHealth(pod);
      if (health.state === 'failed') return { member: want.member, ...health };
      const old = podDrift(pod, { hash: want.hash, secretVersion: want.secretVersion, image: d.image });
      return { member: want.member, ...(old ? { state: 'starting' as const, reason: `old pod still running (${old})` } : health) };
    });
    const failed = states.filter((s) => s.state === 'failed');
    const waiting = states.filter((s) => s.state === 'starting');
    if (failed.length === 0 && waiting.length === 0) {
      process.stderr.write(`All ${desired.length} member pod(s) in ${d.namespace} are Ready.\n`);
      process.exit(0);
    }
    if (failed.length > 0 || Date.now() > deadline) {
      for (const s of [...failed, ...waiting]) process.stderr.write(`${s.member}: not ready: ${s.state === 'starting' ? `still ${s.reason}` : s.reason}\n`);
      fail(
        `${failed.length + waiting.length} of ${desired.length} member pod(s) are not Ready`,
        `See \`kubectl --context ${d.context} describe pod -n ${d.namespace} <member>-0\` or \`bm status -v\`; fix the cause, then run \`bm start --formation k8s\` again (it replaces failed pods).`,
      );
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}
