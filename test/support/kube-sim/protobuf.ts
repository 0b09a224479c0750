/**
 * Decodes the protobuf request bodies kubectl's `create` generators send
 * (`kubectl create namespace|secret|configmap|serviceaccount`) into the JSON form.
 *
 * Wire format: the bytes `k8s\0`, then a runtime.Unknown message {1: TypeMeta{1 apiVersion,
 * 2 kind}, 2: raw object bytes}. Only the fields these generators set are decoded.
 */
import { ApiError } from './status.ts';
import type { KubeObject, Meta, Obj } from './util.ts';

type Value = number | Uint8Array;
type Fields = Map<number, Value[]>;

/** Splits one message into its fields; repeated fields keep every occurrence in order. */
function parseFields(buf: Uint8Array): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let value: Value;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = varint();
      value = buf.subarray(pos, pos + length);
      pos += length;
    } else if (wire === 1) {
      pos += 8;
      continue;
    } else if (wire === 5) {
      pos += 4;
      continue;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

const decoder = new TextDecoder();

function bytesOf(fields: Fields, n: number): Uint8Array[] {
  return (fields.get(n) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array);
}

/** A string field; empty strings (which gogo-protobuf encodes) count as unset. */
function str(fields: Fields, n: number): string | undefined {
  const [value] = bytesOf(fields, n);
  return value && value.length > 0 ? decoder.decode(value) : undefined;
}

function strings(fields: Fields, n: number): string[] {
  return bytesOf(fields, n).map((b) => decoder.decode(b));
}

function bool(fields: Fields, n: number): boolean | undefined {
  const [value] = fields.get(n) ?? [];
  return typeof value === 'number' ? value !== 0 : undefined;
}

/** A map<string, string|bytes> field; bytes values come back base64-encoded, as JSON has them. */
function map(fields: Fields, n: number, bytesValues = false): Record<string, string> | undefined {
  const entries = bytesOf(fields, n);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const kv = parseFields(entry);
    const key = str(kv, 1) ?? '';
    const [raw] = bytesOf(kv, 2);
    const value = raw ?? new Uint8Array();
    out[key] = bytesValues ? Buffer.from(value).toString('base64') : decoder.decode(value);
  }
  return out;
}

function objectMeta(buf: Uint8Array | undefined): Meta {
  if (!buf) return {};
  const f = parseFields(buf);
  const meta: Meta = {};
  const set = (key: string, value: unknown): void => {
    if (value !== undefined && !(Array.isArray(value) && value.length === 0)) meta[key] = value;
  };
  set('name', str(f, 1));
  set('generateName', str(f, 2));
  set('namespace', str(f, 3));
  set('labels', map(f, 11));
  set('annotations', map(f, 12));
  set('finalizers', strings(f, 14));
  return meta;
}

function decodeObject(kind: string, raw: Uint8Array): Obj {
  const f = parseFields(raw);
  const metadata = objectMeta(bytesOf(f, 1)[0]);
  const out: Obj = { metadata };
  const set = (key: string, value: unknown): void => {
    if (value !== undefined) out[key] = value;
  };
  switch (kind) {
    case 'Namespace': {
      const spec = bytesOf(f, 2)[0];
      if (spec) {
        const finalizers = strings(parseFields(spec), 1);
        if (finalizers.length) out.spec = { finalizers };
      }
      break;
    }
    case 'Secret':
      set('data', map(f, 2, true));
      set('type', str(f, 3));
      set('stringData', map(f, 4));
      set('immutable', bool(f, 5));
      break;
    case 'ConfigMap':
      set('data', map(f, 2));
      set('binaryData', map(f, 3, true));
      set('immutable', bool(f, 4));
      break;
    case 'ServiceAccount':
      set('automountServiceAccountToken', bool(f, 4));
      break;
    default:
      throw new ApiError(415, 'UnsupportedMediaType', `kube-sim cannot decode a protobuf ${kind}; send JSON instead`);
  }
  return out;
}

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** Decodes a `application/vnd.kubernetes.protobuf` request body into a JSON object. */
export function decodeProtobuf(body: Uint8Array): KubeObject {
  if (body.length < 4 || MAGIC.some((b, i) => body[i] !== b)) {
    throw new ApiError(400, 'BadRequest', 'provided object is not a Kubernetes protobuf message (missing k8s\\0 prefix)');
  }
  try {
    const unknown = parseFields(body.subarray(4));
    const typeMeta = parseFields(bytesOf(unknown, 1)[0] ?? new Uint8Array());
    const apiVersion = str(typeMeta, 1) ?? 'v1';
    const kind = str(typeMeta, 2) ?? '';
    const object = decodeObject(kind, bytesOf(unknown, 2)[0] ?? new Uint8Array());
    return { apiVersion, kind, ...object } as KubeObject;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, 'BadRequest', `unable to decode protobuf body: ${(error as Error).message}`);
  }
}
