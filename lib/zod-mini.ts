/**
 * The part of zod/mini that bm's schemas use: tasks/build.mjs bundles it on its own as
 * dist/commands/zod-mini.cjs, which lib/zod.ts loads. lib/zod.ts hands schema builders this
 * module's type, so a builder that needs more of zod fails to type-check until it is added here.
 */
export { array, boolean, config, discriminatedUnion, enum, literal, looseObject, nullable, number, object, optional, record, string, union, unknown } from 'zod/mini';
