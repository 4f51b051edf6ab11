/**
 * Binary content in requests: data URLs, OpenAI `file.file_data` and `input_audio.data`, Anthropic
 * base64 sources. Text-like content is decoded so it can be scanned like any text and re-encoded after
 * masking; anything else is reported by media type so the profile's `binary` rule can decide.
 */

/** Media types whose bytes are text the proxy decodes (UTF-8), scans and re-encodes. */
const TEXT_MEDIA =
  /^(?:text\/[a-z0-9.+-]+|application\/(?:json|[a-z0-9.+-]+\+json|x-ndjson|csv|xml|[a-z0-9.+-]+\+xml|yaml|x-yaml|markdown|javascript|x-www-form-urlencoded))$/;

/**
 * Media types named in audit events and response headers. A caller writes `media_type`, so only names
 * from this list are repeated; anything else is reported as `other` (no caller string leaves in a
 * report).
 */
const REPORTED_MEDIA = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/svg+xml',
  'application/pdf',
  'application/octet-stream',
  'application/zip',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'audio/wav',
  'audio/mpeg',
  'audio/mp3',
  'audio/ogg',
  'audio/webm',
  'audio/flac',
  'video/mp4',
]);

const EXTENSION_MEDIA: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  html: 'text/html',
  htm: 'text/html',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

export function isTextMedia(mediaType: string): boolean {
  return TEXT_MEDIA.test(mediaType);
}

/** The media type as it may be reported (audit, headers): a known name, or `other`. */
export function reportedMedia(mediaType: string): string {
  return REPORTED_MEDIA.has(mediaType) || isTextMedia(mediaType) ? mediaType : 'other';
}

/** The media type a file name's extension implies, if it is one the proxy knows. */
export function mediaOfFilename(filename: unknown): string | undefined {
  if (typeof filename !== 'string') return undefined;
  const dot = filename.lastIndexOf('.');
  return dot === -1 ? undefined : EXTENSION_MEDIA[filename.slice(dot + 1).toLowerCase()];
}

/** A decoded piece of binary content. */
export type DecodedContent =
  | {
      readonly kind: 'text';
      readonly text: string;
      /** The content again, in the same envelope (data URL or bare base64), holding `text`. */
      encode(text: string): string;
    }
  | { readonly kind: 'binary'; readonly mediaType: string };

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a data URL (`data:<type>[;base64],<data>`) or bare base64 with a declared media type.
 * Undefined when `value` is neither (the caller scans it as text instead: fail closed).
 */
export function decodeContent(value: string, declaredMedia: string | undefined): DecodedContent | undefined {
  if (value.startsWith('data:')) {
    const comma = value.indexOf(',');
    if (comma === -1) return undefined;
    const header = value.slice(5, comma);
    const params = header.split(';');
    const mediaType = (params[0] || 'text/plain').trim().toLowerCase();
    const base64 = params.slice(1).some((p) => p.trim().toLowerCase() === 'base64');
    const payload = value.slice(comma + 1);
    if (!base64) {
      let text: string;
      try {
        text = decodeURIComponent(payload);
      } catch {
        text = payload;
      }
      return { kind: 'text', text, encode: (t) => `data:${header},${encodeURIComponent(t)}` };
    }
    return decodeBase64(payload, mediaType, (b64) => `data:${header},${b64}`);
  }
  return decodeBase64(value, (declaredMedia ?? 'application/octet-stream').toLowerCase(), (b64) => b64);
}

function decodeBase64(
  payload: string,
  mediaType: string,
  envelope: (base64: string) => string,
): DecodedContent | undefined {
  const compact = payload.replace(/\s+/g, '');
  if (!BASE64.test(compact)) return undefined;
  const bytes = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
  const decoded = asText(bytes, isTextMedia(mediaType));
  if (decoded === undefined) return { kind: 'binary', mediaType };
  return {
    kind: 'text',
    text: decoded.text,
    encode: (t) => envelope(Buffer.from(t, decoded.encoding).toString('base64')),
  };
}

/**
 * The bytes as text when they are text. Declared text is UTF-8, or else read byte for byte as Latin-1
 * (every byte is a character, so nothing escapes the scan); any other declared type is sniffed (valid
 * UTF-8 without control characters), so text labelled `image/png` is still scanned.
 */
function asText(
  bytes: Buffer,
  declaredText: boolean,
): { readonly text: string; readonly encoding: 'utf8' | 'latin1' } | undefined {
  let text: string;
  try {
    text = fatalUtf8.decode(bytes);
  } catch {
    return declaredText ? { text: bytes.toString('latin1'), encoding: 'latin1' } : undefined;
  }
  if (declaredText) return { text, encoding: 'utf8' };
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000e-\u001f\u007f]/.test(text) ? undefined : { text, encoding: 'utf8' };
}
