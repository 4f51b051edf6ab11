import { AppError } from '@orgmesh/contracts';
import { decodeContent, mediaOfFilename, reportedMedia } from './binary-content.js';
import {
  discriminatorOf,
  fieldMode,
  type FieldClass,
  type PathSegment,
  type WalkMode,
} from './request-channels.js';
import { queryTexts, urlTexts } from './url-text.js';

/** What a profile decides about content the proxy cannot scan. */
export interface ChannelPolicy {
  /** Binary content that is not text (images, PDFs, audio): forwarded unscanned, or the request refused. */
  readonly binary: 'allow' | 'refuse';
  /**
   * Fields the channel table does not know: `scan` masks their text (strings and keys) and refuses a
   * value that is not text (a number, boolean or null: nothing can be scanned in it or replace it),
   * `refuse` refuses any of them.
   */
  readonly unknownFields: 'scan' | 'refuse';
}

/** Every text of one request for ONE masking call, and how to write the masked texts back. */
export interface CollectedRequest {
  /** Scanned as one batch, in this order (`MaskingSession.processAllAsync`). */
  readonly texts: readonly string[];
  /** Binary parts forwarded unscanned under `binary: allow`, by reported media type. */
  readonly unscanned: ReadonlyMap<string, number>;
  /** Binary parts the profile refuses, by reported media type (the request must be refused). */
  readonly refusedBinary: ReadonlyMap<string, number>;
  /** How many fields the table does not know (refused under `unknownFields: refuse`). */
  readonly unknownFields: number;
  /**
   * Values inside unknown fields that are not text — numbers, booleans, null, at any depth: the proxy
   * cannot scan or mask them, so they refuse the request under either rule (fail closed). In known
   * free-form data (tool inputs, schemas) numbers are scanned and booleans and nulls pass.
   */
  readonly unscannableUnknown: number;
  /** Whether the profile's `unknownFields` rule refuses this request. */
  readonly unknownRefused: boolean;
  /**
   * Writes the masked texts back into the document. `bodyChanged`: re-serialise the body; `query`: the
   * request's query string to forward; `unmaskable`: values where personal data was found that cannot
   * hold a placeholder (numbers) — the request must be refused.
   */
  apply(masked: readonly string[]): { bodyChanged: boolean; query: string; unmaskable: number };
}

/**
 * Nesting beyond this is refused (`validation_failed`): neither API nests anywhere near it, and the walk
 * stays far from the stack limit whatever the body.
 */
export const MAX_REQUEST_DEPTH = 64;

type Holder = Record<string, unknown> | unknown[];

/**
 * What tool names, ids, model names and file ids look like (`send_email`, `toolu_01A…`,
 * `claude-sonnet-4-5`, `ft:gpt-4o:acme:x:1`, `file-abc`): no spaces, no `@`, at most 256 characters.
 */
const IDENTIFIER_SHAPE = /^[A-Za-z0-9_.:/-]{1,256}$/;

/** A whole string of standard base64 (padded), as a pasted file would be. */
const BARE_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function isBareBase64(value: string): boolean {
  return value.length >= 16 && value.length % 4 === 0 && BARE_BASE64.test(value);
}

/** Exactly a base64 data URL (`data:text/plain;base64,…`), not prose that starts with "data:". */
const BASE64_DATA_URL = /^data:[a-z]+\/[a-z0-9.+-]+(?:;[a-z0-9-]+=[a-z0-9-]+)*;base64,[A-Za-z0-9+/=\s]*$/i;

interface Item {
  readonly text: string;
  readonly set: (masked: string) => void;
}

/**
 * Collects every text of a request body (and its query string) by the channel table, without
 * changing anything yet. Throws `validation_failed` for bodies nested deeper than
 * {@link MAX_REQUEST_DEPTH}.
 */
export function collectRequest(
  document: Record<string, unknown>,
  query: string,
  policy: ChannelPolicy,
): CollectedRequest {
  return new RequestCollector(policy).collect(document, query);
}

/** One request's walk: the texts found, and what to do with each once masked. */
class RequestCollector {
  private readonly items: Item[] = [];
  private readonly finalizers: (() => void)[] = [];
  private readonly unscanned = new Map<string, number>();
  private readonly refusedBinary = new Map<string, number>();
  private unknownFields = 0;
  private unscannableUnknown = 0;
  private unmaskable = 0;

  constructor(private readonly policy: ChannelPolicy) {}

  collect(document: Record<string, unknown>, query: string): CollectedRequest {
    const root: Scope = { changed: false };
    this.walkObject(root, document, 'schema', [], 0);

    const queryParts = queryTexts(query);
    const maskedQuery = [...queryParts.texts];
    queryParts.texts.forEach((t, i) => this.text(t, (m) => (maskedQuery[i] = m)));

    const { items, finalizers } = this;
    return {
      texts: items.map((i) => i.text),
      unscanned: this.unscanned,
      refusedBinary: this.refusedBinary,
      unknownFields: this.unknownFields,
      unscannableUnknown: this.unscannableUnknown,
      unknownRefused:
        this.unscannableUnknown > 0 || (this.policy.unknownFields === 'refuse' && this.unknownFields > 0),
      apply: (masked) => {
        this.unmaskable = 0;
        items.forEach((item, i) => {
          const m = masked[i];
          if (m !== undefined && m !== item.text) item.set(m);
        });
        for (let i = finalizers.length - 1; i >= 0; i--) finalizers[i]!();
        return {
          bodyChanged: root.changed,
          query: queryParts.rebuild(maskedQuery),
          unmaskable: this.unmaskable,
        };
      },
    };
  }

  private text(value: string, set: (masked: string) => void): void {
    this.items.push({ text: value, set });
  }

  private leafText(scope: Scope, holder: Holder, key: string | number, value: string): void {
    this.text(value, (masked) => write(scope, holder, key, masked));
  }

  private walkObject(
    scope: Scope,
    obj: Record<string, unknown>,
    mode: WalkMode,
    parents: PathSegment[],
    depth: number,
  ): void {
    if (depth > MAX_REQUEST_DEPTH) throw tooDeep();
    const renames = new Map<string, string>();
    this.finalizers.push(() => {
      if (renames.size === 0) return;
      renameKeys(obj, renames);
      touch(scope);
    });
    for (const key of Object.keys(obj)) {
      const value = obj[key];
      // An array's elements are classified by the array's name: `messages[]`, `stop[]`.
      const step = fieldMode(mode, parents, { key, element: Array.isArray(value) });
      if (step.cls === 'unknown' && mode === 'schema') this.unknownFields += 1;
      // Keys of caller data and of unknown fields are text too ({"maria@example.org": …}).
      if (mode !== 'schema' || step.cls === 'unknown') {
        const rename = (masked: string) => renames.set(key, masked);
        this.freeText(key, rename);
      }
      this.visit(scope, obj, key, key, value, step.mode, step.cls, parents, depth);
    }
  }

  /** `name`: the field's key (an array's elements carry the array's); `parents`: the enclosing objects. */
  private visit(
    scope: Scope,
    holder: Holder,
    key: string | number,
    name: string,
    value: unknown,
    mode: WalkMode,
    cls: FieldClass | 'unknown',
    parents: PathSegment[],
    depth: number,
  ): void {
    if (value === null || typeof value !== 'object') {
      if (cls === 'unknown' && typeof value !== 'string') {
        this.unscannableUnknown += 1;
        return;
      }
    }
    if (value === null || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (cls === 'opaque' || cls === 'sealed' || mode === 'settings') return;
      this.text(String(value), () => (this.unmaskable += 1));
      return;
    }
    if (typeof value === 'string') return this.visitString(scope, holder, key, value, cls, depth);
    if (typeof value !== 'object') return;
    if (depth + 1 > MAX_REQUEST_DEPTH) throw tooDeep();
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++)
        this.visit(scope, value, i, name, value[i], mode, cls, parents, depth + 1);
      return;
    }
    const segment: PathSegment = { key: name, element: typeof key === 'number', ...typeOf(value) };
    this.walkObject(scope, value as Record<string, unknown>, mode, [...parents, segment], depth + 1);
  }

  private visitString(
    scope: Scope,
    holder: Holder,
    key: string | number,
    value: string,
    cls: FieldClass | 'unknown',
    depth: number,
  ): void {
    switch (cls) {
      case 'identifier':
        // Raw only while it looks like one: a sentence or an address in a name field is text.
        if (IDENTIFIER_SHAPE.test(value)) return;
        return this.leafText(scope, holder, key, value);
      case 'sealed':
        return;
      case 'url':
        if (value.startsWith('data:')) return this.visitBinary(scope, holder, key, value);
        return this.visitUrl(scope, holder, key, value);
      case 'binary':
        return this.visitBinary(scope, holder, key, value);
      case 'json-text':
        return this.visitEmbedded(scope, holder, key, value, depth);
      default:
        // Base64 pasted into text (a data URL or bare) is a file all the same: the model can decode it.
        if (BASE64_DATA_URL.test(value)) return this.visitBinary(scope, holder, key, value);
        return this.freeText(value, (masked) => write(scope, holder, key, masked));
    }
  }

  /**
   * A text field holding nothing but base64: scanned as it is and, when it decodes to text, decoded
   * too (a model reads base64). A change to the raw string wins: then the decoded form is moot.
   */
  private base64Text(value: string, set: (masked: string) => void): void {
    const decoded = decodeContent(value, undefined);
    if (decoded?.kind !== 'text') return this.text(value, set);
    let raw = value;
    let inner = decoded.text;
    this.text(value, (m) => (raw = m));
    this.text(decoded.text, (m) => (inner = m));
    this.finalizers.push(() => {
      if (raw !== value) set(raw);
      else if (inner !== decoded.text) set(decoded.encode(inner));
    });
  }

  /** Free text (a text field's value, or a key): base64 in it is decoded and scanned too. */
  private freeText(value: string, set: (masked: string) => void): void {
    if (BASE64_DATA_URL.test(value)) return this.binaryContent(value, undefined, set);
    if (isBareBase64(value)) return this.base64Text(value, set);
    this.text(value, set);
  }

  private visitUrl(scope: Scope, holder: Holder, key: string | number, value: string): void {
    const url = urlTexts(value);
    if (!url) return this.leafText(scope, holder, key, value);
    const masked = [...url.texts];
    url.texts.forEach((t, i) => this.text(t, (m) => (masked[i] = m)));
    this.finalizers.push(() => {
      const rebuilt = url.rebuild(masked);
      if (rebuilt !== value) write(scope, holder, key, rebuilt);
    });
  }

  private visitBinary(scope: Scope, holder: Holder, key: string | number, value: string): void {
    this.binaryContent(value, mediaHint(holder), (encoded) => write(scope, holder, key, encoded));
  }

  /** Binary content: decoded and scanned when it is text (`set` takes it re-encoded), else the policy. */
  private binaryContent(value: string, mediaHint: string | undefined, set: (encoded: string) => void): void {
    const decoded = decodeContent(value, mediaHint);
    // Neither a data URL nor base64: whatever it is, it is scanned as text.
    if (!decoded) return this.text(value, set);
    if (decoded.kind === 'binary') {
      bump(
        this.policy.binary === 'allow' ? this.unscanned : this.refusedBinary,
        reportedMedia(decoded.mediaType),
      );
      return;
    }
    let masked = decoded.text;
    this.text(decoded.text, (m) => (masked = m));
    this.finalizers.push(() => {
      if (masked !== decoded.text) set(decoded.encode(masked));
    });
  }

  private visitEmbedded(
    scope: Scope,
    holder: Holder,
    key: string | number,
    value: string,
    depth: number,
  ): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return this.leafText(scope, holder, key, value);
    }
    if (parsed === null || typeof parsed !== 'object') return this.leafText(scope, holder, key, value);
    const inner: Scope = { changed: false, parent: scope };
    // Pushed before the document's own items: finalizers run last-first, so this one sees their writes.
    this.finalizers.push(() => {
      if (inner.changed) write(scope, holder, key, JSON.stringify(parsed));
    });
    this.visit(inner, [parsed], 0, 'arguments', parsed, 'json', 'json', [], depth);
  }
}

/** Which document a write changes: the body, or a JSON document inside one of its strings. */
interface Scope {
  changed: boolean;
  readonly parent?: Scope;
}

function bump(map: Map<string, number>, media: string): void {
  map.set(media, (map.get(media) ?? 0) + 1);
}

function touch(scope: Scope): void {
  for (let s: Scope | undefined = scope; s; s = s.parent) s.changed = true;
}

function write(scope: Scope, holder: Holder, key: string | number, value: unknown): void {
  // defineProperty: a JSON key `__proto__` is an own property and must stay one.
  Object.defineProperty(holder, key, { value, writable: true, enumerable: true, configurable: true });
  touch(scope);
}

function tooDeep(): AppError {
  return new AppError('validation_failed', `request body nested deeper than ${MAX_REQUEST_DEPTH} levels`);
}

function typeOf(value: unknown): { type?: string } {
  const type = discriminatorOf(value);
  return type === undefined ? {} : { type };
}

/** The media type binary content declares next to itself (Anthropic, OpenAI audio, OpenAI files). */
function mediaHint(holder: Holder): string | undefined {
  if (Array.isArray(holder)) return undefined;
  const media = holder['media_type'];
  if (typeof media === 'string') return media;
  const format = holder['format'];
  if (typeof format === 'string') return `audio/${format}`;
  return mediaOfFilename(holder['filename']);
}

/** Renames keys in place, keeping their order (a rebuilt object would break references held above). */
function renameKeys(obj: Record<string, unknown>, renames: ReadonlyMap<string, string>): void {
  const entries = Object.keys(obj).map((k) => [renames.get(k) ?? k, obj[k]] as const);
  for (const k of Object.keys(obj)) delete obj[k];
  for (const [k, v] of entries)
    Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
}
