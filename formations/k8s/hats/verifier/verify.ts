/**
 * The verifier hat: waits (up to BM_K8S_VERIFY_TIMEOUT_MS, default 120 s) until the pod of every
 * member is Ready, and reports each one that is not, with its reason. A pod that cannot recover
 * on its own (ImagePullBackOff, CreateContainerConfigError, Failed, ...) fails the check at once
 * instead of at the timeout.
 *
 *   node hats/verifier/verify.ts
 */
import path from 'node:path';
import process from 'node:process';
import { $ } from 'zx/core';
import { deployment, fail, lastLine, memberNames, podHealth, podsOf, teamSelector } from '../../kube.ts';

const d = deployment(path.resolve(import.meta.dirname, '..', '..'));
const k = d.flags;
const members = memberNames(d);
const deadline = Date.now() + Number(process.env.BM_K8S_VERIFY_TIMEOUT_MS ?? 120_000);

for (;;) {
  const got = await $({ quiet: true, nothrow: true })`kubectl ${k} get pods -n ${d.namespace} -l ${teamSelector(d)} -o json`;
  if (got.exitCode !== 0) {
    if (Date.now() > deadline) fail(`Could not read the pods of namespace ${d.namespace} (${lastLine(got.stderr)})`, 'Check the cluster, then run `bm start --formation k8s` again.');
  } else {
    const pods = new Map(podsOf(got.stdout).map((p) => [p.metadata.name, p]));
    const states = members.map((m) => {
      const pod = pods.get(m);
      return { member: m, ...(pod ? podHealth(pod) : { state: 'missing' as const, reason: 'no pod' }) };
    });
    const failed = states.filter((s) => s.state === 'failed' || s.state === 'missing');
    const waiting = states.filter((s) => s.state === 'starting');
    if (failed.length === 0 && waiting.length === 0) {
      process.stderr.write(`All ${members.length} member pod(s) in ${d.namespace} are Ready.\n`);
      process.exit(0);
    }
    if (failed.length > 0 || Date.now() > deadline) {
      for (const s of [...failed, ...waiting]) process.stderr.write(`${s.member}: not ready: ${s.state === 'starting' ? `still ${s.reason}` : s.reason}\n`);
      fail(
        `${failed.length + waiting.length} of ${members.length} member pod(s) are not Ready`,
        `See \`kubectl --context ${d.context} describe pod -n ${d.namespace} <member>\`; fix the cause, then run \`bm start --formation k8s\` again (it replaces failed pods).`,
      );
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
