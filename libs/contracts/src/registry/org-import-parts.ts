import { randomUUID } from 'node:crypto';
import type { RpcRequestInput, RpcResponse } from '../define.js';
import { ORG_IMPORT_PART_MAX_CHARS, type ImportOrg, type ImportOrgPart } from './import-org.rpc.js';

/**
 * How a client sends an org import that may not fit one NATS message (ADR 0013). Shared by every
 * sender (the CLI over NATS, the gateway for `POST /v1/org/import` and gRPC ImportOrg) so the parts
 * are cut the same way wherever the CSV comes from.
 */

/**
 * `csv` cut after line ends into parts of at most `maxChars` characters; joined, they are `csv`
 * again. A single line longer than `maxChars` is cut inside the line (joining restores it).
 */
export function splitCsv(csv: string, maxChars: number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < csv.length) {
    let end = Math.min(start + maxChars, csv.length);
    if (end < csv.length) {
      const newline = csv.lastIndexOf('\n', end - 1);
      if (newline >= start) end = newline + 1;
    }
    parts.push(csv.slice(start, end));
    start = end;
  }
  return parts;
}

/** Encoded bytes a part may take in its request (NATS's default limit is 1 MiB, the envelope aside). */
export const ORG_IMPORT_PART_MAX_ENCODED_BYTES = 768 * 1024;

/**
 * Parts whose JSON encoding fits one message: a part of multi-byte or escaped characters can take
 * several bytes per character, and is halved (at a line end where there is one) until it fits.
 */
export function fitToMessages(parts: readonly string[]): string[] {
  return parts.flatMap((part) => {
    if (part.length < 2 || Buffer.byteLength(JSON.stringify(part)) <= ORG_IMPORT_PART_MAX_ENCODED_BYTES)
      return [part];
    return fitToMessages(splitCsv(part, Math.ceil(part.length / 2)));
  });
}

/** The parts an org import CSV travels as: one when it fits a message, else whole lines in order. */
export function orgImportParts(csv: string): string[] {
  return fitToMessages(splitCsv(csv, ORG_IMPORT_PART_MAX_CHARS));
}

/** The two RPCs of an import, as the sender's transport makes them (its token, timeouts, prefix). */
export interface OrgImportTransport {
  part(request: RpcRequestInput<typeof ImportOrgPart>): Promise<unknown>;
  commit(request: RpcRequestInput<typeof ImportOrg>): Promise<RpcResponse<typeof ImportOrg>>;
}

/** Parts sent at once: enough to hide the round trips, few enough not to flood one registry replica. */
export const ORG_IMPORT_PART_CONCURRENCY = 4;

/**
 * Imports `csv`: in one message when it fits one part, else as parts (whole lines, in order) sent a
 * few at a time and then a commit naming the upload. A failed part fails the import; the registry
 * drops the parts of an upload never committed after an hour.
 */
export async function sendOrgImport(
  csv: string,
  fileName: string | undefined,
  transport: OrgImportTransport,
): Promise<RpcResponse<typeof ImportOrg>> {
  const parts = orgImportParts(csv);
  if (parts.length <= 1) return transport.commit({ csv, fileName });
  const uploadId = randomUUID();
  let next = 0;
  const sender = async () => {
    for (let index = next++; index < parts.length; index = next++)
      await transport.part({ uploadId, index, csv: parts[index]! });
  };
  await Promise.all(Array.from({ length: Math.min(ORG_IMPORT_PART_CONCURRENCY, parts.length) }, sender));
  return transport.commit({ upload: { uploadId, parts: parts.length }, fileName });
}
