import type { PackageDefinition } from '@grpc/proto-loader';

/** The parts of a protobuf DescriptorProto (as proto-loader exposes it) this mapping reads. */
interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: Array<{ name: string; options?: { mapEntry?: boolean } | null }>;
}

type ProtoValue =
  | { nullValue: 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: { fields: Record<string, ProtoValue> } }
  | { listValue: { values: ProtoValue[] } };

/** `agentId` → `agent_id`: proto-loader camelCases the protos' snake_case field names. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** JSON → google.protobuf.Value. */
export function toProtoValue(value: unknown): ProtoValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  return { structValue: toProtoStruct(value as Record<string, unknown>) };
}

export function toProtoStruct(value: Record<string, unknown>): { fields: Record<string, ProtoValue> } {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, inner] of Object.entries(value))
    if (inner !== undefined) fields[key] = toProtoValue(inner);
  return { fields };
}

/** google.protobuf.Value (as decoded by proto-loader) → JSON. */
export function fromProtoValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if ('stringValue' in v && v['stringValue'] !== undefined) return v['stringValue'];
  if ('numberValue' in v && v['numberValue'] !== undefined) return v['numberValue'];
  if ('boolValue' in v && v['boolValue'] !== undefined) return v['boolValue'];
  if ('structValue' in v && v['structValue'] !== undefined) return fromProtoStruct(v['structValue']);
  if ('listValue' in v && v['listValue'] !== undefined) {
    const values = (v['listValue'] as { values?: unknown[] }).values ?? [];
    return values.map(fromProtoValue);
  }
  return null;
}

export function fromProtoStruct(value: unknown): Record<string, unknown> {
  const fields = ((value ?? {}) as { fields?: Record<string, unknown> }).fields ?? {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, fromProtoValue(v)]));
}

/**
 * Maps between the contracts' JSON and proto-loader message objects, driven by the message
 * descriptors: `google.protobuf.Struct`/`Value` fields convert to and from plain JSON, nested
 * messages recurse, null becomes "unset", and JSON fields the proto does not declare are dropped.
 */
export class ProtoJson {
  constructor(
    private readonly definition: PackageDefinition,
    private readonly packageName = 'orgmesh.v1',
  ) {}

  private descriptor(typeName: string): MessageDescriptor | undefined {
    const entry = (this.definition[`${this.packageName}.${typeName}`] ?? this.definition[typeName]) as
      { type?: MessageDescriptor } | undefined;
    return entry?.type;
  }

  /** Contract JSON → a message object of `typeName`. */
  toProto(typeName: string, json: unknown): Record<string, unknown> {
    return this.convert(typeName, json, 'out');
  }

  /** A decoded message object of `typeName` → contract JSON (unset fields absent). */
  fromProto(typeName: string, message: unknown): Record<string, unknown> {
    return this.convert(typeName, message, 'in');
  }

  /**
   * A contract issue path as a proto field path of `typeName`: the route's location prefix goes
   * (`path.`, `query.`, `body.`), field names are snake_case, indexes are brackets
   * (`body.files.0.path` → `files[0].path`). Keys inside Struct, Value and map fields are data and
   * stay as they are. A header (`header.Idempotency-Key`) is request metadata (`metadata.idempotency-key`).
   */
  fieldPath(typeName: string, path: string): string {
    const segments = path.split('.');
    const [first] = segments;
    if (first === 'header') return `metadata.${segments.slice(1).join('.').toLowerCase()}`;
    if (first === 'path' || first === 'query' || first === 'body') segments.shift();
    if (segments.length === 0) return '(request)';
    let descriptor = this.descriptor(typeName);
    let expectIndex = false;
    let out = '';
    for (const segment of segments) {
      if (/^\d+$/.test(segment) && (expectIndex || !descriptor)) {
        out += `[${segment}]`;
        expectIndex = false;
        continue;
      }
      expectIndex = false;
      const field = descriptor?.field.find((f) => f.name === segment);
      const name = descriptor ? snakeCase(segment) : segment;
      out += out ? `.${name}` : name;
      if (!field || !descriptor) {
        descriptor = undefined;
        continue;
      }
      const isMap = descriptor.nestedType.some((n) => n.name === field.typeName && n.options?.mapEntry);
      expectIndex = field.label === 'LABEL_REPEATED' && !isMap;
      descriptor =
        field.type === 'TYPE_MESSAGE' && !isMap && !field.typeName.startsWith('google.protobuf.')
          ? this.descriptor(field.typeName)
          : undefined;
    }
    return out;
  }

  private convert(typeName: string, input: unknown, direction: 'in' | 'out'): Record<string, unknown> {
    const descriptor = this.descriptor(typeName);
    if (!descriptor || typeof input !== 'object' || input === null) return {};
    const source = input as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const field of descriptor.field) {
      const value = source[field.name];
      if (value === undefined || value === null) continue;
      const isMap =
        field.label === 'LABEL_REPEATED' &&
        descriptor.nestedType.some((n) => n.name === field.typeName && n.options?.mapEntry);
      const one = (item: unknown): unknown => this.convertField(field, item, direction);
      if (isMap) out[field.name] = value;
      else if (field.label === 'LABEL_REPEATED') out[field.name] = Array.isArray(value) ? value.map(one) : [];
      else out[field.name] = one(value);
    }
    return out;
  }

  private convertField(field: FieldDescriptor, value: unknown, direction: 'in' | 'out'): unknown {
    if (field.type !== 'TYPE_MESSAGE') return value;
    switch (field.typeName) {
      case 'google.protobuf.Struct':
        return direction === 'out' ? toProtoStruct(value as Record<string, unknown>) : fromProtoStruct(value);
      case 'google.protobuf.Value':
        return direction === 'out' ? toProtoValue(value) : fromProtoValue(value);
      default:
        return this.convert(field.typeName, value, direction);
    }
  }
}
