/**
 * Human gates: board statuses where an item waits for the operator's approval.
 *
 * A profile declares them under `human_gates:` in botminter.yml (name, the gate's status, where
 * approval and rejection move the item, and whether the gate is on). The team repo's copy of
 * the manifest holds the team's choice: members read it (`.botminter/botminter.yml`) to decide
 * whether a move goes through the gate, and `bm approve` / `bm reject` read it to know where the
 * item goes next. `bm init --human-gates` and `bm teams gates` switch gates on and off.
 */
import { BmError, UsageError } from './output.ts';
import type { TeamManifest } from './schema.ts';
import { saveManifest, type Team } from './team.ts';

/** One human gate as declared by the profile, with the team's on/off choice. */
export interface HumanGate {
  name: string;
  /** The board status an item waits in. */
  status: string;
  /** Where `bm approve` moves the item. */
  approve: string;
  /** Where `bm reject` moves it back. */
  reject: string;
  description: string;
  enabled: boolean;
}

/** The gates a manifest declares (an absent `enabled` means on). */
export function gatesOf(manifest: TeamManifest): HumanGate[] {
  return (manifest.human_gates ?? []).map((g) => ({
    name: g.name, status: g.status, approve: g.approve, reject: g.reject, description: g.description ?? '', enabled: g.enabled !== false,
  }));
}

/** The gate whose status is `status`, if any (switched on or not: an item may still sit in it). */
export function gateForStatus(manifest: TeamManifest, status: string | null): HumanGate | undefined {
  return status === null ? undefined : gatesOf(manifest).find((g) => g.status === status);
}

/**
 * Parses `--human-gates design,accept` (or `all`, or `none`) against the declared gates; an
 * unknown name is a usage error naming the known ones.
 */
export function parseGateList(raw: string, manifest: TeamManifest): string[] {
  const known = gatesOf(manifest).map((g) => g.name);
  const value = raw.trim();
  if (value === 'none' || value === '') return [];
  if (value === 'all') return known;
  const names = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  const unknown = names.find((n) => !known.includes(n));
  if (unknown !== undefined) {
    throw new UsageError(`Unknown human gate '${unknown}'`,
      known.length ? `This profile's gates: ${known.join(', ')} (or \`all\`, \`none\`).` : 'This profile declares no human gates; use `none`.');
  }
  return names;
}

/**
 * Switches the team's gates so that exactly `enabled` are on, editing the manifest document
 * (comments and order kept). Returns the gates whose state changed; the caller commits.
 */
export function setGates(team: Team, enabled: readonly string[]): HumanGate[] {
  const gates = gatesOf(team.manifest);
  if (gates.length === 0 && enabled.length > 0) throw new BmError(`Team '${team.name}' declares no human gates`, 'Its profile has none; nothing to switch on.');
  const changed = gates.filter((g) => g.enabled !== enabled.includes(g.name));
  if (changed.length === 0) return [];
  const doc = team.manifestDoc;
  gates.forEach((g, i) => doc.setIn(['human_gates', i, 'enabled'], enabled.includes(g.name)));
  saveManifest(team);
  return changed.map((g) => ({ ...g, enabled: !g.enabled }));
}
