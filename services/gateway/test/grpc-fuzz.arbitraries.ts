import type { PackageDefinition } from '@grpc/proto-loader';
import fc from 'fast-check';
import { deepJson, hostileString } from '@orgmesh/testing';
import { toProtoStruct, toProtoValue } from '../src/grpc/proto-json.js';

/** The parts of a proto-loader message descriptor the generators read (field names are camelCase). */
interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  field: FieldDescriptor[];
  nestedType: Array<{ name: string; options?: { mapEntry?: boolean } | null }>;
}

type Message = Record<string, unknown>;

/** Whose token a case carries: agent = finance-agent, manager = manager-agent. */
export type TokenKind = 'admin' | 'agent' | 'manager' | 'viewer' | 'none' | 'garbage' | 'forged';

/** Request metadata of one case, besides the request bytes. */
export interface CaseMetadata {
  token: TokenKind;
  /** The whole `authorization` value when `token` is `forged`. */
  forged: string;
  idempotencyKey: string | undefined;
  traceparent: string | undefined;
}

/** Values a field name usually needs to pass validation, so hostile siblings reach the services. */
const PLAUSIBLE: Record<string, unknown> = {
  agentId: 'finance-agent',
  role: 'finance',
  event: 'activate',
  decision: 'approve',
  state: 'working',
  type: 'review',
  subject: 'budget',
  message: 'hello',
  reason: 'fuzz',
  comment: 'fuzz',
  format: 'goose',
  direction: 'any',
  kind: 'task',
  priority: 'normal',
  configHash: `sha256:${'0'.repeat(64)}`,
  csv: 'user_id,reports_to_id,name,role,email,department',
  path: 'agents/fuzz.yaml',
  content: 'id: fuzz',
  limit: 10,
  subjects: ['sessions.v1.*'],
};
/** Optional fields a plausible request leaves out: a plausible value for them is a refusal of its own. */
const LEFT_OUT = new Set([
  'from',
  'cursor',
  'expectedVersion',
  'contextId',
  'deadline',
  'fileName',
  'online',
]);

const INTEGER_TYPES = new Set([
  'TYPE_INT32',
  'TYPE_INT64',
  'TYPE_UINT32',
  'TYPE_UINT64',
  'TYPE_SINT32',
  'TYPE_SINT64',
]);

/** Integers at and beyond the edges of what the fields accept (int32 wraps in protobufjs). */
const hostileInteger = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1,
    500,
    501,
    2 ** 31 - 1,
    -(2 ** 31),
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
  ),
  fc.integer(),
);

/** JSON for Value/Struct fields: hostile strings as keys and leaves, odd numbers, and deep nesting. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        hostileString,
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(hostileString, tie('value'), { maxKeys: 3 }),
      ),
    })).value,
  },
  // At, just beyond and well beyond the contracts' 64 levels (the protobuf limit holds them all).
  { weight: 1, arbitrary: fc.constantFrom(64, 65, 75).map((depth) => deepJson(depth)) },
);

export class RequestGenerator {
  constructor(
    private readonly definition: PackageDefinition,
    /** Real ids (sessions, tasks, agents, users, profiles), so hostile siblings get past lookups. */
    private readonly ids: readonly string[],
  ) {}

  private descriptor(typeName: string): MessageDescriptor {
    const entry = (this.definition[`orgmesh.v1.${typeName}`] ?? this.definition[typeName]) as
      { type?: MessageDescriptor } | undefined;
    if (!entry?.type) throw new Error(`no message type ${typeName}`);
    return entry.type;
  }

  private isMap(descriptor: MessageDescriptor, field: FieldDescriptor): boolean {
    return descriptor.nestedType.some((n) => n.name === field.typeName && n.options?.mapEntry);
  }

  /** A deterministic request that passes validation where it can (ids drawn from the fixtures). */
  plausible(typeName: string, depth = 0): fc.Arbitrary<Message> {
    const descriptor = this.descriptor(typeName);
    const fields: Record<string, fc.Arbitrary<unknown>> = {};
    for (const field of descriptor.field) {
      if (LEFT_OUT.has(field.name)) continue;
      const value = this.plausibleField(descriptor, field, depth);
      if (value)
        fields[field.name] =
          field.label === 'LABEL_REPEATED' && !this.isMap(descriptor, field) && !(field.name in PLAUSIBLE)
            ? value.map((v) => [v])
            : value;
    }
    return fc.record(fields);
  }

  private plausibleField(
    descriptor: MessageDescriptor,
    field: FieldDescriptor,
    depth: number,
  ): fc.Arbitrary<unknown> | undefined {
    if (field.name === 'id' || field.name === 'profileId') return fc.constantFrom(...this.ids);
    if (field.name === 'to') return fc.constant({ role: 'manager' });
    if (field.name in PLAUSIBLE) return fc.constant(PLAUSIBLE[field.name]);
    if (this.isMap(descriptor, field)) return fc.constant({});
    switch (field.type) {
      case 'TYPE_STRING':
        return fc.constant('x');
      case 'TYPE_BOOL':
        return fc.constant(false);
      case 'TYPE_DOUBLE':
      case 'TYPE_FLOAT':
        return fc.constant(1);
      case 'TYPE_MESSAGE':
        if (field.typeName === 'google.protobuf.Value') return fc.constant(toProtoValue({ a: 'x' }));
        if (field.typeName === 'google.protobuf.Struct') return fc.constant(toProtoStruct({}));
        return depth < 3 ? this.plausible(field.typeName, depth + 1) : undefined;
      default:
        return INTEGER_TYPES.has(field.type) ? fc.constant(1) : undefined;
    }
  }

  /** A hostile value of the field's own proto type (so the message still encodes). */
  private hostileField(
    descriptor: MessageDescriptor,
    field: FieldDescriptor,
    depth: number,
  ): fc.Arbitrary<unknown> {
    const one = ((): fc.Arbitrary<unknown> => {
      if (this.isMap(descriptor, field)) return fc.dictionary(hostileString, hostileString, { maxKeys: 3 });
      if (field.type === 'TYPE_STRING') return hostileString;
      if (field.type === 'TYPE_BOOL') return fc.boolean();
      if (field.type === 'TYPE_DOUBLE' || field.type === 'TYPE_FLOAT') return fc.double();
      if (INTEGER_TYPES.has(field.type)) return hostileInteger;
      if (field.typeName === 'google.protobuf.Value') return hostileJson.map(toProtoValue);
      if (field.typeName === 'google.protobuf.Struct')
        return fc.dictionary(hostileString, hostileJson, { maxKeys: 3 }).map(toProtoStruct);
      if (field.type === 'TYPE_MESSAGE' && depth < 3) return this.hostile(field.typeName, depth + 1);
      return fc.constant(undefined);
    })();
    if (field.label !== 'LABEL_REPEATED' || this.isMap(descriptor, field)) return one;
    return fc.array(one, { maxLength: 4 });
  }

  /** Every field hostile or absent. */
  hostile(typeName: string, depth = 0): fc.Arbitrary<Message> {
    const descriptor = this.descriptor(typeName);
    const fields: Record<string, fc.Arbitrary<unknown>> = {};
    for (const field of descriptor.field) fields[field.name] = this.hostileField(descriptor, field, depth);
    return fc.record(fields, { requiredKeys: [] });
  }

  /** A plausible request with one field (or one field of a nested message) made hostile. */
  oneHostile(typeName: string): fc.Arbitrary<Message> {
    const descriptor = this.descriptor(typeName);
    if (descriptor.field.length === 0) return this.plausible(typeName);
    return fc
      .tuple(this.plausible(typeName), fc.constantFrom(...descriptor.field))
      .chain(([base, field]) =>
        this.hostileField(descriptor, field, 0).map((value) => ({ ...base, [field.name]: value })),
      );
  }

  /** Structurally valid requests with hostile content. */
  messages(typeName: string): fc.Arbitrary<Message> {
    return fc.oneof(
      { weight: 4, arbitrary: this.oneHostile(typeName) },
      { weight: 2, arbitrary: this.hostile(typeName) },
      { weight: 1, arbitrary: this.plausible(typeName) },
    );
  }
}

/** The issue's reproduction: 64 bytes that decode as a CreateSessionRequest with a non-ASCII agent_id. */
export const ISSUE_BYTES = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 255));

/** Raw request bytes: random, the issue's, and valid encodings cut short or with bytes overwritten. */
export function rawBytes(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.constant(ISSUE_BYTES) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          valid,
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        )
        .map(([bytes, edits]) => {
          const out = Buffer.from(bytes);
          for (const [at, value] of edits) if (out.length) out[at % out.length] = value;
          return out;
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.nat())
        .map(([bytes, cut]) => bytes.subarray(0, bytes.length ? cut % bytes.length : 0)),
    },
  );
}

/** Metadata values are printable ASCII on the wire (grpc-js refuses anything else client-side). */
function printableAscii(maxLength: number): fc.Arbitrary<string> {
  return fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength,
  });
}

/** Metadata of a case: mostly real tokens (so calls get past authentication), some hostile keys. */
export const caseMetadata: fc.Arbitrary<CaseMetadata> = fc.record({
  token: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom<TokenKind>('admin', 'agent', 'manager', 'viewer') },
    { weight: 1, arbitrary: fc.constantFrom<TokenKind>('none', 'garbage', 'forged') },
  ),
  forged: fc.oneof(
    printableAscii(300),
    printableAscii(300).map((value) => `Bearer ${value}`),
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Basic YWRtaW46YWRtaW4=',
      `Bearer ${'a'.repeat(8_000)}`,
      'Bearer a.b.c',
    ),
  ),
  idempotencyKey: fc.option(
    fc.oneof(fc.constantFrom('', ' ', 'k'.repeat(201), 'a,b', '%00'), printableAscii(40)),
    { nil: undefined, freq: 3 },
  ),
  traceparent: fc.option(fc.constantFrom('00-zz-zz-01', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`, ''), {
    nil: undefined,
    freq: 6,
  }),
});
