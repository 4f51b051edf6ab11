/** One CSV record and the (1-based) line it starts on. */
export interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
}

export type CsvParseResult = { ok: true; records: CsvRecord[] } | { ok: false; line: number; reason: string };

/**
 * The org chart's CSV (`org-chart.csv`, `POST /v1/org/import`), read by the registry's import and by
 * the gateway's dev sign-in (the same file's people), so both read a line the same way.
 *
 * RFC 4180 CSV: comma-separated, `"` quoting with `""` escapes, quoted fields may hold commas and line
 * breaks, LF or CRLF line ends, an optional UTF-8 BOM. Blank lines are skipped.
 */
export function parseCsv(text: string): CsvParseResult {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let fields: string[] = [];
  let field = '';
  let recordLine = 1;
  let quotedStartLine = 0;
  let inQuotes = false;
  let recordHasContent = false;
  let afterClosingQuote = false;

  const endRecord = (): void => {
    fields.push(field);
    if (recordHasContent || fields.length > 1 || field.trim() !== '')
      records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    recordHasContent = false;
  };

  for (; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
          afterClosingQuote = true;
        }
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (afterClosingQuote && c !== ',' && c !== '\n' && c !== '\r') {
      return { ok: false, line, reason: 'text after a closing quote' };
    }
    afterClosingQuote = false;
    if (c === '"') {
      if (field.trim() !== '') return { ok: false, line, reason: 'a quote inside an unquoted field' };
      field = '';
      inQuotes = true;
      recordHasContent = true;
      quotedStartLine = line;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      recordHasContent = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += c;
    }
  }
  if (inQuotes) return { ok: false, line: quotedStartLine, reason: 'unterminated quoted field' };
  endRecord();
  return { ok: true, records };
}
