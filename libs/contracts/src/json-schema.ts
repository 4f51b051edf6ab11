import { z } from 'zod';
import { allContracts, type EventDefinition, type RpcDefinition } from './define.js';

/** One contract as JSON Schema documents, for peers that do not speak TypeScript. */
export interface ContractSchema {
  kind: 'event' | 'rpc';
  subject: string;
  description?: string;
  schemas: Record<string, unknown>;
}

function toSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  // Draft 2020-12; `io: input` documents what a sender may send (defaults optional).
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
}

export function contractSchema(def: EventDefinition | RpcDefinition): ContractSchema {
  if (def.kind === 'event') {
    return { kind: 'event', subject: def.subject, description: def.description, schemas: { payload: toSchema(def.schema, 'output') } };
  }
  return {
    kind: 'rpc',
    subject: def.subject,
    description: def.description,
    schemas: { request: toSchema(def.request, 'input'), response: toSchema(def.response, 'output') },
  };
}

/** Every registered contract (import the contract modules first, e.g. via the package index). */
export function allContractSchemas(): ContractSchema[] {
  return allContracts()
    .map(contractSchema)
    .sort((a, b) => a.subject.localeCompare(b.subject));
}
