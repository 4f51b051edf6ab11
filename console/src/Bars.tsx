import { bucketLabel, RANGES, type Bucket, type RangeId, type SeriesPoint } from './counts';

/**
 * A stacked bar per hour or day in plain SVG (no chart library: the console's JS budget, ADR 0020).
 * Colours come from the page's CSS variables, so it follows the light and dark scheme. Screen readers
 * get the figure's summary and, per bar, its title; the numbers are in the table beside it.
 */
export function Bars({
  title,
  points,
  bucket,
  legend,
  format,
}: {
  title: string;
  points: readonly SeriesPoint[];
  bucket: Bucket;
  /** One name per stacked part, bottom first. */
  legend: readonly string[];
  format: (n: number) => string;
}) {
  const max = Math.max(1, ...points.map((p) => p.total));
  const total = points.reduce((n, p) => n + p.total, 0);
  const width = Math.max(points.length, 1) * 10;
  // A label under every nth bar, about eight in all, so they never overlap at phone width.
  const every = Math.max(1, Math.ceil(points.length / 8));
  return (
    <figure className="bars">
      <figcaption>
        {title}
        <ul className="legend" aria-label="Legend">
          {legend.map((name, i) => (
            <li key={name}>
              <span className={`swatch part-${i}`} aria-hidden="true" /> {name}
            </li>
          ))}
        </ul>
      </figcaption>
      <svg
        viewBox={`0 0 ${width} 100`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${title}: ${format(total)} over ${points.length} ${bucket === 'hour' ? 'hours' : 'days'}`}
      >
        {points.map((p, i) => {
          let y = 100;
          return (
            <g key={p.at}>
              <title>{`${bucketLabel(p.at, bucket)}: ${legend.map((name, k) => `${name} ${format(p.parts[k] ?? 0)}`).join(', ')}`}</title>
              <rect x={i * 10} y={0} width={10} height={100} className="bar-hit" />
              {legend.map((name, k) => {
                const h = ((p.parts[k] ?? 0) / max) * 96;
                y -= h;
                return h > 0 ? (
                  <rect key={name} x={i * 10 + 1} y={y} width={8} height={h} className={`part-${k}`} />
                ) : null;
              })}
            </g>
          );
        })}
      </svg>
      <div className="bar-labels" aria-hidden="true">
        {points.map((p, i) => (
          <span key={p.at}>{i % every === 0 ? bucketLabel(p.at, bucket) : ''}</span>
        ))}
      </div>
    </figure>
  );
}

/** The time range of the Privacy and Usage pages (24 hours by the hour, 7 or 30 UTC days by the day). */
export function RangeSelect({ value, onChange }: { value: RangeId; onChange: (range: RangeId) => void }) {
  return <Choice label="Range" value={value} options={RANGES} onChange={onChange} />;
}

/** A labelled choice of the Privacy and Usage pages' filters (the range, what the usage is counted per). */
export function Choice<Id extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: Id;
  options: ReadonlyArray<{ id: Id; label: string }>;
  onChange: (id: Id) => void;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value as Id)}>
        {options.map((o) => (
          <option key={o.id} value={o.id}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A text filter of the Privacy and Usage pages ("all" when blank). */
export function TextFilter({
  label,
  value,
  onChange,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {label}
      <input value={value} onChange={(e) => onChange(e.target.value)} placeholder="all" />
    </label>
  );
}

/** What the answer says besides its rows: still loading, cut short by the limit, or empty. */
export function LoadNotes({
  loading,
  truncated,
  empty,
  emptyText,
}: {
  loading: boolean;
  truncated: boolean | undefined;
  empty: boolean;
  emptyText: string;
}) {
  return (
    <>
      {loading ? <p className="muted">Loading…</p> : null}
      {truncated ? (
        <p className="overdue">Only part of the range is shown: narrow the filters or the range.</p>
      ) : null}
      {empty ? <p className="muted">{emptyText}</p> : null}
    </>
  );
}
