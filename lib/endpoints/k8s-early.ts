/**
 * Imported first by the commands that read the cluster (`bm status`, `bm start`), ahead of
 * everything else they import, so that their kubectl look starts before bm loads the team
 * (lib/endpoints/k8s.ts says why and how). Only in a command the launcher runs.
 */
import { lookEarly } from './k8s.ts';

const command = (globalThis as { bmEntryCommand?: string }).bmEntryCommand;
if (command) lookEarly(command, process.argv.slice(2));
